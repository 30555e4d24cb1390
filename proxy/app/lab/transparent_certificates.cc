#include <arpa/inet.h>
#include <array>

#include <openssl/x509.h>

#include <certs/certificate_info.h>
#include <proxy/app/lab/transparent_certificates.h>

namespace proxy::app {

namespace {

bool is_ip_literal(const std::string& text) {
    std::array<unsigned char, sizeof(in6_addr)> buf{};
    return inet_pton(AF_INET, text.c_str(), buf.data()) == 1 ||
           inet_pton(AF_INET6, text.c_str(), buf.data()) == 1;
}

std::string subject_entry(X509* cert, int nid) {
    X509_NAME* subject = X509_get_subject_name(cert);
    int at = subject != nullptr ? X509_NAME_get_index_by_NID(subject, nid, -1) : -1;
    if (at < 0) {
        return "";
    }
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0 || utf8 == nullptr) {
        return "";
    }
    std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
    return out;
}

bool is_placeholder(const std::string& item) {
    return item == "{hostnames}" || item == "{ips}" || item == "{host}";
}

// bind: the scenario's list with its placeholders replaced by `names`, its fixed entries kept.
std::vector<std::string> bind(const std::vector<std::string>& items,
                              const std::vector<std::string>& names) {
    std::vector<std::string> out;
    bool bound = false;
    for (const auto& item : items) {
        if (!is_placeholder(item)) {
            out.push_back(item);
        } else if (!bound) {
            out.insert(out.end(), names.begin(), names.end());
            bound = true;
        }
    }
    return out;
}

} // namespace

std::string CertificateNames::key() const {
    std::string k = "cn=" + common_name;
    if (organization) {
        k += "|o=" + *organization;
    }
    for (const auto& d : dns_names) {
        k += "|dns=" + d;
    }
    for (const auto& i : ip_addresses) {
        k += "|ip=" + i;
    }
    return k;
}

CertificateNames names_for_client(const std::optional<std::string>& sni,
                                  const std::string& destination_ip) {
    CertificateNames n;
    if (sni && !sni->empty() && !is_ip_literal(*sni)) {
        n.common_name = *sni;
        n.dns_names.push_back(*sni);
    }
    if (!destination_ip.empty()) {
        n.ip_addresses.push_back(destination_ip);
    }
    if (sni && is_ip_literal(*sni) && *sni != destination_ip) {
        n.ip_addresses.push_back(*sni);
    }
    if (n.common_name.empty()) {
        n.common_name = destination_ip;
    }
    return n;
}

CertificateNames mirror_names(X509* cert) {
    CertificateNames n;
    if (cert == nullptr) {
        return n;
    }
    n.common_name = subject_entry(cert, NID_commonName);
    n.organization = subject_entry(cert, NID_organizationName); // empty: the real one has none
    for (const auto& san : certs::describe(cert).subject_alt_names) {
        if (san.starts_with("DNS:")) {
            n.dns_names.push_back(san.substr(4));
        } else if (san.starts_with("IP:")) {
            n.ip_addresses.push_back(san.substr(3));
        }
    }
    return n;
}

scenarios::Scenario renamed(const scenarios::Scenario& scenario, const CertificateNames& names) {
    scenarios::Scenario s = scenario;
    auto& c = s.certificate;
    if (c.common_name == "{host}") {
        c.common_name = names.common_name;
    }
    if (names.organization) {
        c.organization = *names.organization;
    }
    c.dns_names = bind(c.dns_names, names.dns_names);
    c.ip_addresses = bind(c.ip_addresses, names.ip_addresses);
    return s;
}

LabIdentity identity_of(const CertificateNames& names) {
    LabIdentity id;
    id.hostnames = names.dns_names;
    id.ips = names.ip_addresses;
    return id;
}

std::expected<std::shared_ptr<const ScenarioRuntime>, std::string>
TransparentCertificates::runtime(const ScenarioRuntime& base, const CertificateNames& names) {
    std::string key = base.scenario.name + "#" + names.key();
    if (const auto* hit = cache_.find(key)) {
        // "expires in 60 s" holds from each session, here as in Lab::runtime.
        auto fresh = refresh_if_time_bound(*hit);
        if (fresh != *hit) {
            cache_.put(key, fresh);
        }
        return fresh;
    }
    // The scenario's own key (already of the scenario's type and size): minting on the loop
    // thread then costs a signature, not a key generation.
    auto rt =
        lab_.runtime_for(renamed(base.scenario, names), identity_of(names), base.leaf.key.get());
    if (!rt) {
        return std::unexpected(rt.error());
    }
    cache_.put(key, *rt);
    return *rt;
}

} // namespace proxy::app
