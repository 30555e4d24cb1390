#pragma once

// ScenarioRuntime is a scenario made concrete at start: its certificate minted (relative to
// now, so nothing pre-generated goes stale) and its TLS contexts built. Sessions hold it by
// shared_ptr, so a listener can switch scenario while older sessions finish on the old one.
//
// Each issuer sends the chain a real server would (after the leaf):
//   lab-ca, self, untrusted-ca, unsent-intermediate, retired-ca: nothing
//   new-root: the new intermediate (the new root is the client's to have)
//   cross-signed: the new intermediate and the new root cross-signed by the lab CA
//   expired-intermediate: the expired intermediate
//   expired-root-cross-sign: the lab intermediate and the lab CA cross-signed by an expired
//     old root (as Let's Encrypt sent ISRG Root X1 signed by the expired DST Root CA X3)
//   deep-chain: every intermediate, the leaf's issuer first
//   name-constrained: the name-constrained intermediate
//
// Time-bound scenarios (validity in seconds: "expires in 60 s") mean "from each connection":
// a listener hands a new session refresh_if_time_bound(runtime), which re-mints the leaf (same
// key) and the TLS contexts once the runtime is older than kTimeBoundMaxAge.

#include <chrono>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <certs/certificate_info.h>
#include <certs/issuer.h>
#include <certs/lab_ca.h>
#include <scenarios/scenario.h>

namespace proxy {

// The names the lab answers to: placeholders {hostnames}, {ips} and {host} expand to these.
struct LabIdentity {
    std::vector<std::string> hostnames; // localhost, the machine's name, --hostname names
    std::vector<std::string> ips;       // 127.0.0.1, ::1, --hostname addresses
};

// LeafKeyPool hands out one key per shape (type and RSA size), generated on first use;
// thread-safe.
class LeafKeyPool {
  public:
    std::expected<EVP_PKEY*, std::string> key_for(const certs::KeySpec& spec);

  private:
    std::mutex mutex_;
    std::map<std::pair<int, int>, certs::EvpPkeyPtr> keys_;
};

// ScenarioPki: the CAs scenarios may need besides the lab CA. Each is minted on first use and
// kept for the life of the process, so `proxy --scenario valid` pays for no CA it does not
// use (every RSA key costs a few hundred ms on a small machine). Copies share the same CAs;
// thread-safe.
class ScenarioPki {
  public:
    enum class Ca {
        Untrusted,           // a CA no driver trusts
        Intermediate,        // under the lab CA; never sent by incomplete-chain
        NewRoot,             // CA rotation: a new root no client has yet
        NewIntermediate,     // under the new root
        NewRootCross,        // the new root's name and key signed by the lab CA (cert only)
        ExpiredIntermediate, // under the lab CA, expired 30 days ago
        OldRoot,             // an old root, expired 30 days ago
        LabCaCross,          // the lab CA's name and key signed by the old root (cert only):
                             // the DST Root CA X3 -> ISRG Root X1 shape
        Retired,             // the lab CA's name with another key: the CA before a rotation
        NameConstrained,     // under the lab CA, permitting only kPermittedDnsSubtree
    };
    static constexpr const char* kPermittedDnsSubtree = "permitted.tlslab.invalid";

    // The CA (a cross certificate has no key), minted on first use. ca is the lab CA; it must
    // be the same at every call.
    std::expected<const certs::Credential*, std::string> get(Ca which,
                                                             const certs::LabCa& ca) const;

    // Leaf keys, one per key shape, shared by the scenarios that use that shape: a lab of
    // 66 scenarios would otherwise spend most of its start-up generating RSA keys. Each leaf is
    // still its own certificate; nothing a client checks depends on the key being unique.
    LeafKeyPool& leaf_keys() const { return state_->leaf_keys; }

  private:
    struct State {
        std::mutex mutex;
        std::map<Ca, certs::Credential> made;
        LeafKeyPool leaf_keys;
    };
    std::expected<const certs::Credential*, std::string> get_locked(Ca which,
                                                                    const certs::LabCa& ca) const;
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

struct ScenarioRuntime {
    scenarios::Scenario scenario;
    certs::Credential leaf;
    std::vector<certs::X509Ptr> chain; // sent after the leaf
    // The leaf described once; every record of a session shown this leaf shares it.
    std::shared_ptr<const certs::CertificateInfo> leaf_info;
    certs::SslCtxPtr tds7_ctx;     // TLS inside PRELOGIN
    certs::SslCtxPtr tds8_ctx;     // TLS first, ALPN tds/8.0
    certs::SslCtxPtr postgres_ctx; // after SSLRequest or direct, ALPN postgresql (PG 17)
    certs::SslCtxPtr tls_ctx;      // the generic TLS relay: no ALPN
    // What refresh_if_time_bound needs to mint again. The lab CA and the PKI outlive every
    // runtime (the lab owns them for the life of the process).
    const certs::LabCa* ca = nullptr;
    const ScenarioPki* pki = nullptr;
    LabIdentity identity;
    std::chrono::steady_clock::time_point minted_at;
};

// A time-bound runtime older than this is minted again for a new session.
inline constexpr std::chrono::seconds kTimeBoundMaxAge{2};

// time_bound: the scenario's validity is given in seconds, relative to each connection.
bool time_bound(const scenarios::Scenario& s);

// validity_note: what the lab says about a time-bound certificate ("certificate valid for 60 s
// from each connection"); empty for other scenarios.
std::string validity_note(const scenarios::Scenario& s);

// expand_placeholders turns {hostnames}/{ips}/{host} entries into lab names.
std::vector<std::string> expand_placeholders(const std::vector<std::string>& items,
                                             const LabIdentity& id);

// materialize mints the scenario's certificate (with leaf_key when given: a re-mint keeps the
// key) and builds its TLS contexts. ca and pki must outlive the runtime.
std::expected<std::shared_ptr<const ScenarioRuntime>, std::string>
materialize(const scenarios::Scenario& scenario, const certs::LabCa& ca, const ScenarioPki& pki,
            const LabIdentity& identity, EVP_PKEY* leaf_key = nullptr);

// refresh_if_time_bound: the runtime a new session should get. For a time-bound scenario whose
// runtime is older than kTimeBoundMaxAge, a fresh one (if minting fails, the old one); otherwise
// rt itself. Cheap when nothing is due; call it on the thread that owns the listener.
std::shared_ptr<const ScenarioRuntime>
refresh_if_time_bound(const std::shared_ptr<const ScenarioRuntime>& rt,
                      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

} // namespace proxy
