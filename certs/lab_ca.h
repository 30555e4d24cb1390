#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <certs/issuer.h>
#include <certs/openssl_ptr.h>

namespace certs {

// What a CA's nameConstraints permit (`tlslab ca --constrain`): DNS subtrees and IP ranges as
// CIDR text. Excluded subtrees are not used by the lab.
struct PermittedNames {
    std::vector<std::string> dns;
    std::vector<std::string> ip;
    bool critical = false;
};

// permitted_names: the permitted subtrees of `cert`'s nameConstraints (nullopt: none).
std::optional<PermittedNames> permitted_names(X509* cert);

// LabCa is the lab's certificate authority, kept in the state directory:
//   <state-dir>/ca.pem  the CA certificate (give it to drivers to trust)
//   <state-dir>/ca.key  its private key, mode 0600, never printed
// It is created on first use; concurrent first uses are serialised by a lock file, so two
// processes never end up with different CAs.
class LabCa {
  public:
    static std::expected<LabCa, std::string> load_or_create(const std::filesystem::path& state_dir);
    // constrain replaces the lab CA (or creates it) by one whose critical nameConstraints permit
    // only `names`: a new key and the subject "tlslab lab CA (constrained)", so no copy of the
    // old, unconstrained certificate can vouch for what the new key signs. Every export of the
    // old CA stops validating the lab; the user exports the new one (docs/security.md). The old
    // key is removed. Names: DNS names ("*.corp.example" becomes the subtree corp.example);
    // IP ranges in CIDR text.
    static std::expected<LabCa, std::string> constrain(const std::filesystem::path& state_dir,
                                                       const PermittedNames& names);
    // permitted: the CA's nameConstraints; nullopt when it has none.
    std::optional<PermittedNames> permitted() const { return permitted_names(cert_.get()); }

    X509* cert() const { return cert_.get(); }
    EVP_PKEY* key() const { return key_.get(); }
    const std::filesystem::path& cert_path() const { return cert_path_; }
    bool created() const { return created_; } // true when this call made a new CA

    // issue_leaf mints a certificate signed by the CA.
    std::expected<Credential, std::string> issue_leaf(const CertificateProfile& profile) const {
        return issue(profile, cert_.get(), key_.get());
    }

  private:
    X509Ptr cert_;
    EvpPkeyPtr key_;
    std::filesystem::path cert_path_;
    bool created_ = false;
};

// default_state_dir: $XDG_STATE_HOME/tlslab, else ~/.local/state/tlslab.
std::filesystem::path default_state_dir();

// local_host_names: "localhost", the machine's host name (and its FQDN when it has one).
std::vector<std::string> local_host_names();

} // namespace certs
