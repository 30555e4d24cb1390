#pragma once

// Theory of operation
// -------------------
// In transparent mode (`tlslab proxy --transparent`) clients dial the real server's address, so
// the certificate they are shown must name what they asked for, not the lab's own names. The
// scenario's placeholders ({hostnames}, {ips}, {host}) are filled per session:
//
//   client names (default)  the client's SNI as the DNS name and CN, the original destination's
//                           IP as the IP address (CN = the IP when there is no SNI)
//   mirror                  the real server's certificate's subject (CN, O) and SAN DNS / IP
//                           entries, read
//                           before the session starts (see certificate_fetch.h), so `valid`
//                           looks like the real server but is signed by the lab CA
//
// Scenarios that name fixed hosts (wrong-host, ip-mismatch, ...) keep their names: only the
// placeholders change. A runtime for new names keeps the scenario's key (minting is then a
// signature and four TLS contexts, no key generation), and each (scenario, names) runtime is
// kept in a bounded least-recently-used cache; a client that sends a million SNI values costs at
// most `capacity` certificates of memory.

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <certs/openssl_ptr.h>
#include <proxy/app/lab/lab_setup.h>
#include <proxy/core/session/scenario_runtime.h>

namespace proxy::app {

// The names a transparent session's certificate carries.
struct CertificateNames {
    std::string common_name;                 // replaces a "{host}" CN
    std::vector<std::string> dns_names;      // replace {hostnames} (and give {host})
    std::vector<std::string> ip_addresses;   // replace {ips}
    std::optional<std::string> organization; // mirror: the real subject's O ("" = none)
    std::string key() const;                 // a cache key: every name, in order
};

// names_for_client: SNI as DNS name and CN; the original destination's IP as IP address (and CN
// without SNI). An SNI that is an IP literal (clients should not send one, some do) is an IP.
CertificateNames names_for_client(const std::optional<std::string>& sni,
                                  const std::string& destination_ip);

// mirror_names: the subject (CN, O) and SAN DNS / IP entries of a real server's certificate.
CertificateNames mirror_names(X509* cert);

// renamed: `scenario` with its placeholders bound to `names` (a "{host}" CN becomes the CN).
scenarios::Scenario renamed(const scenarios::Scenario& scenario, const CertificateNames& names);
LabIdentity identity_of(const CertificateNames& names);

// BoundedCache: least-recently-used, at most `capacity` entries (capacity 0 keeps nothing).
template <typename V> class BoundedCache {
  public:
    explicit BoundedCache(std::size_t capacity) : capacity_(capacity) {}
    const V* find(const std::string& key) {
        auto it = index_.find(key);
        if (it == index_.end()) {
            return nullptr;
        }
        order_.splice(order_.begin(), order_, it->second); // most recently used first
        return &it->second->second;
    }
    void put(const std::string& key, V value) {
        if (auto it = index_.find(key); it != index_.end()) {
            it->second->second = std::move(value);
            order_.splice(order_.begin(), order_, it->second);
            return;
        }
        if (capacity_ == 0) {
            return;
        }
        if (order_.size() == capacity_) {
            index_.erase(order_.back().first);
            order_.pop_back();
        }
        order_.emplace_front(key, std::move(value));
        index_[key] = order_.begin();
    }
    std::size_t size() const { return order_.size(); }

  private:
    std::size_t capacity_;
    std::list<std::pair<std::string, V>> order_;
    std::map<std::string, typename std::list<std::pair<std::string, V>>::iterator> index_;
};

// TransparentCertificates: the per-names runtimes of a transparent listener (loop thread only).
class TransparentCertificates {
  public:
    static constexpr std::size_t kDefaultCapacity = 256;
    TransparentCertificates(const Lab& lab, std::size_t capacity = kDefaultCapacity)
        : lab_(lab), cache_(capacity) {}

    // runtime: `base`'s scenario minted for `names` (cached); null if minting failed (the
    // session keeps `base`, and the error is logged by the caller).
    std::expected<std::shared_ptr<const ScenarioRuntime>, std::string>
    runtime(const ScenarioRuntime& base, const CertificateNames& names);

    std::size_t cached() const { return cache_.size(); }

  private:
    const Lab& lab_;
    BoundedCache<std::shared_ptr<const ScenarioRuntime>> cache_;
};

} // namespace proxy::app
