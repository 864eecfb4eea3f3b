#include "tls.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace raftkv {
namespace {

// OpenSSL's queued errors as one line (and the queue emptied), or
// `fallback` when there are none.
std::string openssl_errors(const std::string& fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? fallback : out;
}

raft::Status bad_file(const std::string& file, const std::string& what) {
  return raft::Status(raft::ErrorCode::kInvalidArgument, file + ": " + what);
}

struct BioCloser {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioCloser>;

}  // namespace

// What one load read. Immutable once built; handshakes take their own
// references (SSL_use_cert_and_key), so it may be freed while they run.
struct CertificateStore::Identity {
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;  // the certificates after the first in cert_file
  EVP_PKEY* key = nullptr;
  std::string serial;

  Identity() = default;
  Identity(const Identity&) = delete;
  Identity& operator=(const Identity&) = delete;
  ~Identity() {
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

CertificateStore::CertificateStore() = default;
CertificateStore::~CertificateStore() = default;

raft::Status CertificateStore::load(const std::string& cert_file, const std::string& key_file) {
  ERR_clear_error();
  auto id = std::make_shared<Identity>();

  BioPtr cert_in(BIO_new_file(cert_file.c_str(), "r"));
  if (!cert_in) return bad_file(cert_file, "cannot open: " + openssl_errors("unknown error"));
  id->cert = PEM_read_bio_X509(cert_in.get(), nullptr, nullptr, nullptr);
  if (!id->cert) return bad_file(cert_file, "no PEM certificate: " + openssl_errors("unknown error"));
  id->chain = sk_X509_new_null();
  if (!id->chain) return bad_file(cert_file, "out of memory");
  while (X509* extra = PEM_read_bio_X509(cert_in.get(), nullptr, nullptr, nullptr)) {
    if (!sk_X509_push(id->chain, extra)) {
      X509_free(extra);
      return bad_file(cert_file, "out of memory");
    }
  }
  ERR_clear_error();  // the end of the file reads as an error

  BioPtr key_in(BIO_new_file(key_file.c_str(), "r"));
  if (!key_in) return bad_file(key_file, "cannot open: " + openssl_errors("unknown error"));
  id->key = PEM_read_bio_PrivateKey(key_in.get(), nullptr, nullptr, nullptr);
  if (!id->key) return bad_file(key_file, "no PEM private key: " + openssl_errors("unknown error"));
  if (X509_check_private_key(id->cert, id->key) != 1)
    return bad_file(key_file, "the key does not belong to the certificate in " + cert_file);

  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(id->cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      id->serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }

  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(id);
  return raft::Status();
}

std::string CertificateStore::serial() const {
  auto id = current();
  return id ? id->serial : std::string();
}

std::shared_ptr<const CertificateStore::Identity> CertificateStore::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void CertificateStore::attach(SSL_CTX* ctx) { SSL_CTX_set_cert_cb(ctx, &CertificateStore::on_handshake, this); }

// OpenSSL calls this during each server handshake, before it picks the
// certificate to send: 1 to go on, 0 to fail the handshake.
int CertificateStore::on_handshake(SSL* ssl, void* store) {
  auto id = static_cast<CertificateStore*>(store)->current();
  if (!id) return 0;
  return SSL_use_cert_and_key(ssl, id->cert, id->key, id->chain, /*override=*/1) == 1 ? 1 : 0;
}

void ReloadSignal::request() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = true;
  }
  cv_.notify_one();
}

bool ReloadSignal::wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return pending_ || closed_; });
  if (closed_) return false;
  pending_ = false;
  return true;
}

void ReloadSignal::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

}  // namespace raftkv
