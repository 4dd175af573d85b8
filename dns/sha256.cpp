#include "dns/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace vrdns::dns {

/// Without OpenSSL 3's per-call cost: the one-shot SHA256() fetches the algorithm from the
/// provider and allocates a context on every call, which was a third of ZoneService::execute().
/// The fetched EVP_MD is shared (immutable); the context is per thread and reset each time.
std::array<unsigned char, 32> sha256(std::string_view in) {
  struct Context {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() {
      EVP_MD_CTX_free(ctx);
      EVP_MD_free(md);
    }
  };
  thread_local Context c;
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  if (c.md == nullptr || c.ctx == nullptr || EVP_DigestInit_ex2(c.ctx, c.md, nullptr) != 1 ||
      EVP_DigestUpdate(c.ctx, in.data(), in.size()) != 1 ||
      EVP_DigestFinal_ex(c.ctx, md.data(), &len) != 1 || len != md.size())
    throw std::runtime_error("SHA-256 unavailable");
  return md;
}

}  // namespace vrdns::dns
