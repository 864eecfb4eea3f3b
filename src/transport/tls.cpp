#include "transport/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <fstream>

namespace raft::transport::detail {

std::string tls_error_string(const std::string& fallback) {
  unsigned long e = ERR_get_error();
  std::string out;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;
  }
  ERR_clear_error();
  return out.empty() ? fallback : out;
}

namespace {

Status bad_file(const char* what, const std::string& path, const std::string& why) {
  return invalid_argument(std::string("TLS ") + what + " \"" + path + "\": " + why);
}

// OpenSSL says "no such file" in its own words; say it first, plainly.
Status check_readable(const char* what, const std::string& path) {
  std::ifstream f(path);
  if (!f) return bad_file(what, path, std::strerror(errno));
  return Status();
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> load_tls_context(const TlsOptions& tls) {
  if (tls.ca_file.empty() || tls.cert_file.empty() || tls.key_file.empty()) {
    return invalid_argument("TLS needs a CA file, a certificate file and a key file");
  }
  RAFT_RETURN_IF_ERROR(check_readable("CA file", tls.ca_file));
  RAFT_RETURN_IF_ERROR(check_readable("certificate file", tls.cert_file));
  RAFT_RETURN_IF_ERROR(check_readable("key file", tls.key_file));
  ERR_clear_error();
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return invalid_argument("TLS: " + tls_error_string("cannot require TLS 1.2"));
  }
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
  // TLS 1.3: AES-128-GCM first (OpenSSL's default puts AES-256 first); as
  // safe for this use, and cheaper per byte. (TLS 1.2 keeps OpenSSL's
  // default list.)
  if (SSL_CTX_set_ciphersuites(
          native, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") != 1) {
    return invalid_argument("TLS: " + tls_error_string("cannot set the TLS 1.3 cipher suites"));
  }
  // Peers talk to each other for the life of the cluster; resumption
  // would only matter for reconnects, which are rare.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate_chain_file(native, tls.cert_file.c_str()) != 1) {
    return bad_file("certificate file", tls.cert_file, tls_error_string("not a PEM certificate"));
  }
  if (SSL_CTX_use_PrivateKey_file(native, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return bad_file("key file", tls.key_file,
                      "does not match the certificate in \"" + tls.cert_file + "\"");
    }
    return bad_file("key file", tls.key_file, tls_error_string("not a PEM private key"));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return bad_file("key file", tls.key_file,
                    "does not match the certificate in \"" + tls.cert_file + "\" (" +
                        tls_error_string("mismatch") + ")");
  }
  if (SSL_CTX_load_verify_locations(native, tls.ca_file.c_str(), nullptr) != 1) {
    return bad_file("CA file", tls.ca_file, tls_error_string("no CA certificate in it"));
  }
  // Both ends verify, and both must present a certificate.
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return ctx;
}

std::string tls_peer_name(NodeId id) { return "node" + std::to_string(id.value); }

bool tls_peer_certificate_names(SSL* ssl, const std::string& name) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return false;
  // DNS subject alternative names, exactly (no wildcards: "*" must not
  // stand for every node).
  if (X509_check_host(cert, name.data(), name.size(),
                      X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                      nullptr) == 1) {
    return true;
  }
  // Or the subject's common name, exactly.
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    const unsigned char* data = ASN1_STRING_get0_data(cn);
    size_t len = static_cast<size_t>(ASN1_STRING_length(cn));
    if (len == name.size() && std::memcmp(data, name.data(), len) == 0) return true;
  }
  return false;
}

}  // namespace raft::transport::detail
