// raftkv's TLS: the certificate the HTTPS server presents, replaceable while
// it serves, and the SIGHUP requests that replace it.
//
// With --tls-ca, --tls-cert and --tls-key, the Raft transport uses mutual
// TLS with those files (libraft loads them) and the HTTP API is served over
// HTTPS with the same certificate and key. Clients of the HTTP API are not
// asked for a certificate.
//
// Rotation without a restart: SIGHUP (see main.cpp) makes raftkv load the
// files again. The HTTPS server's OpenSSL context has a certificate
// callback (SSL_CTX_set_cert_cb) that, for each new connection, hands the
// handshake whatever CertificateStore holds at that moment; reloading
// swaps what it holds, so connections accepted afterwards present the new
// certificate while open ones keep theirs. libraft does the same for the
// Raft connections (Node::reload_tls).
//
// Thread safety: both classes may be used from any thread.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "raft/status.hpp"

namespace raftkv {

// A certificate (with the rest of its chain) and its private key, loaded
// from PEM files, swapped whole.
class CertificateStore {
 public:
  CertificateStore();
  ~CertificateStore();
  CertificateStore(const CertificateStore&) = delete;
  CertificateStore& operator=(const CertificateStore&) = delete;

  // Reads both files and checks that the key belongs to the certificate;
  // only then do new handshakes use them. On error (InvalidArgument naming
  // the file and OpenSSL's reason) what was loaded before stays.
  raft::Status load(const std::string& cert_file, const std::string& key_file);
  // The serial number of the certificate in use, in hex ("" before load).
  std::string serial() const;
  // Makes ctx take its certificate from this store at every handshake.
  // The store must outlive ctx's connections (hold it in a shared_ptr).
  void attach(SSL_CTX* ctx);

  struct Identity;

 private:
  static int on_handshake(SSL* ssl, void* store);
  std::shared_ptr<const Identity> current() const;

  mutable std::mutex mu_;
  std::shared_ptr<const Identity> current_;  // guarded by mu_; null before load
};

// Reload requests (SIGHUP): the signal thread calls request(), a thread
// of run()'s waits for them with wait(). Requests that arrive while one
// is being served are merged into one more reload.
class ReloadSignal {
 public:
  // Non-blocking.
  void request();
  // Blocks until a request (true: it is taken) or close() (false).
  bool wait();
  // Wakes wait() for good (at shutdown).
  void close();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;  // guarded by mu_
  bool closed_ = false;   // guarded by mu_
};

}  // namespace raftkv
