// Persistent HAMT: node layout, reference counting, path copying. See hamt.hpp.
#include "dns/hamt.hpp"

#include <atomic>
#include <cassert>
#include <new>
#include <vector>

namespace vrdns::dns::hamt {

namespace {
thread_local std::size_t allocated = 0;
constexpr unsigned bits_per_level = 5;
}  // namespace

std::size_t debug_nodes_allocated() { return allocated; }

/// Population count without a library call. std::popcount compiles to a call into libgcc
/// (__popcountdi2) unless the build targets a CPU with POPCNT, and it was a third of all
/// instructions of an UPDATE's apply; this SWAR form is a dozen inline instructions.
constexpr unsigned popcount32(uint32_t x) {
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0F0F0F0Fu;
  return unsigned((x * 0x01010101u) >> 24);
}
static_assert(popcount32(0) == 0 && popcount32(0xFFFFFFFFu) == 32 && popcount32(0x80000001u) == 2);

enum class Kind : uint8_t { branch, leaf, bucket };

struct Base {
  explicit Base(Kind k) : kind(k) { ++allocated; }
  Base(const Base&) = delete;
  Base& operator=(const Base&) = delete;
  /// Parent pointers (and Trie roots) referring to this node.
  std::atomic<uint32_t> refs{1};
  const Kind kind;
};

struct Leaf : Base {
  Leaf(uint64_t h, std::string_view owner) : Base(Kind::leaf), hash(h) { node.owner = owner; }
  Leaf(const Leaf& o) : Base(Kind::leaf), hash(o.hash), node(o.node) {}
  uint64_t hash;
  Node node;
};

/// Names whose full 64-bit hashes are equal. Holds two or more leaves.
struct Bucket : Base {
  explicit Bucket(uint64_t h) : Base(Kind::bucket), hash(h) {}
  uint64_t hash;
  std::vector<Base*> leaves;   // each a Leaf, one reference each
};

/// 32-way branch; the popcount(bitmap) child pointers follow the struct in memory.
struct alignas(alignof(Base*)) Branch : Base {
  explicit Branch(uint32_t bm) : Base(Kind::branch), bitmap(bm) {}
  uint32_t bitmap;

  unsigned size() const { return popcount32(bitmap); }
  Base** slots() { return reinterpret_cast<Base**>(this + 1); }
  Base* const* slots() const { return reinterpret_cast<Base* const*>(this + 1); }
  unsigned index_of(uint32_t bit) const { return popcount32(bitmap & (bit - 1)); }

  /// A branch with room for popcount(bm) children, left uninitialized for the caller.
  static Branch* make(uint32_t bm) {
    void* mem = ::operator new(sizeof(Branch) + std::size_t(popcount32(bm)) * sizeof(Base*));
    return new (mem) Branch(bm);
  }
  /// Frees the branch itself; its children's references must have been moved or released.
  static void free_shell(Branch* b) {
    b->~Branch();
    ::operator delete(static_cast<void*>(b));
  }
};

namespace {

uint32_t bit_at(uint64_t hash, unsigned shift) { return 1u << ((hash >> shift) & 31u); }

void retain(Base* n) { n->refs.fetch_add(1, std::memory_order_relaxed); }

void release(Base* n) {
  if (n->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  switch (n->kind) {
    case Kind::branch: {
      auto* b = static_cast<Branch*>(n);
      for (unsigned i = 0, size = b->size(); i < size; ++i) release(b->slots()[i]);
      Branch::free_shell(b);
      break;
    }
    case Kind::leaf:
      delete static_cast<Leaf*>(n);
      break;
    case Kind::bucket: {
      auto* k = static_cast<Bucket*>(n);
      for (Base* l : k->leaves) release(l);
      delete k;
      break;
    }
  }
}

Base* copy(const Base* n) {
  switch (n->kind) {
    case Kind::branch: {
      const auto* b = static_cast<const Branch*>(n);
      Branch* c = Branch::make(b->bitmap);
      Base** to = c->slots();
      Base* const* from = b->slots();
      for (unsigned i = 0, size = b->size(); i < size; ++i) {
        to[i] = from[i];
        retain(to[i]);
      }
      return c;
    }
    case Kind::leaf:
      return new Leaf(*static_cast<const Leaf*>(n));
    case Kind::bucket: {
      const auto* k = static_cast<const Bucket*>(n);
      auto* c = new Bucket(k->hash);
      c->leaves = k->leaves;
      for (Base* l : c->leaves) retain(l);
      return c;
    }
  }
  return nullptr;
}

/// Makes the node in `slot` private to the caller. `slot` itself must be private (the root
/// slot of a Trie, or a slot inside a node already made private), so a count of 1 means
/// nobody else can reach the node.
void make_private(Base*& slot) {
  if (slot->refs.load(std::memory_order_acquire) == 1) return;
  Base* c = copy(slot);
  release(slot);
  slot = c;
}

uint64_t hash_of(const Base* n) {
  assert(n->kind != Kind::branch);
  return n->kind == Kind::leaf ? static_cast<const Leaf*>(n)->hash
                               : static_cast<const Bucket*>(n)->hash;
}

bool key_matches(const Node& n, std::string_view key) {
  if (n.owner.size() != key.size()) return false;
  for (std::size_t i = 0; i < key.size(); ++i)
    if (fold(uint8_t(n.owner[i])) != uint8_t(key[i])) return false;
  return true;
}

/// A subtrie at `shift` holding the two non-branch nodes `a` and `b` (different hashes),
/// taking over one reference to each.
Base* make_pair(Base* a, Base* b, unsigned shift) {
  const uint64_t ha = hash_of(a), hb = hash_of(b);
  assert(ha != hb && shift < 64);
  const uint32_t ba = bit_at(ha, shift), bb = bit_at(hb, shift);
  if (ba == bb) {
    Branch* br = Branch::make(ba);
    br->slots()[0] = make_pair(a, b, shift + bits_per_level);
    return br;
  }
  Branch* br = Branch::make(ba | bb);
  br->slots()[ba < bb ? 0 : 1] = a;
  br->slots()[ba < bb ? 1 : 0] = b;
  return br;
}

void erase_at(Base*& slot, unsigned shift, std::string_view key, uint64_t hash) {
  Base* n = slot;
  switch (n->kind) {
    case Kind::leaf:
      assert(key_matches(static_cast<Leaf*>(n)->node, key));
      release(n);
      slot = nullptr;
      return;
    case Kind::bucket: {
      make_private(slot);
      auto* k = static_cast<Bucket*>(slot);
      for (std::size_t i = 0; i < k->leaves.size(); ++i) {
        if (!key_matches(static_cast<Leaf*>(k->leaves[i])->node, key)) continue;
        release(k->leaves[i]);
        k->leaves.erase(k->leaves.begin() + std::ptrdiff_t(i));
        break;
      }
      if (k->leaves.size() == 1) {   // a bucket of one is just that leaf
        slot = k->leaves[0];
        k->leaves.clear();
        release(k);
      }
      return;
    }
    case Kind::branch: {
      make_private(slot);
      auto* b = static_cast<Branch*>(slot);
      const uint32_t bit = bit_at(hash, shift);
      assert(b->bitmap & bit);
      const unsigned idx = b->index_of(bit);
      erase_at(b->slots()[idx], shift + bits_per_level, key, hash);
      Base* child = b->slots()[idx];
      if (child == nullptr) {
        if (b->size() == 1) {
          Branch::free_shell(b);
          slot = nullptr;
          return;
        }
        Branch* nb = Branch::make(b->bitmap & ~bit);
        for (unsigned i = 0, j = 0, size = b->size(); i < size; ++i)
          if (i != idx) nb->slots()[j++] = b->slots()[i];
        Branch::free_shell(b);
        slot = nb;
      } else if (b->size() == 1 && child->kind != Kind::branch) {
        // Keep the trie canonical: a lone leaf/bucket moves up to where its hash prefix
        // first becomes unique, so lookups stay as short as possible.
        Branch::free_shell(b);
        slot = child;
      }
      return;
    }
  }
}

void for_each_at(const Base* n, const std::function<void(const Node&)>& f) {
  switch (n->kind) {
    case Kind::branch: {
      const auto* b = static_cast<const Branch*>(n);
      for (unsigned i = 0, size = b->size(); i < size; ++i) for_each_at(b->slots()[i], f);
      return;
    }
    case Kind::leaf:
      f(static_cast<const Leaf*>(n)->node);
      return;
    case Kind::bucket:
      for (const Base* l : static_cast<const Bucket*>(n)->leaves) for_each_at(l, f);
      return;
  }
}

/// Trie::diff below `shift`, for the subtries `a` (older) and `b` (newer) at the same place.
void diff_at(const Base* a, const Base* b, unsigned shift,
             const std::function<void(const Node*, const Node*)>& f) {
  if (a == b) return;   // shared: nothing below changed
  if (!a) return for_each_at(b, [&](const Node& n) { f(nullptr, &n); });
  if (!b) return for_each_at(a, [&](const Node& n) { f(&n, nullptr); });
  if (a->kind == Kind::branch && b->kind == Kind::branch) {
    const auto* ba = static_cast<const Branch*>(a);
    const auto* bb = static_cast<const Branch*>(b);
    unsigned ia = 0, ib = 0;
    for (uint32_t bits = ba->bitmap | bb->bitmap; bits != 0; bits &= bits - 1) {
      const uint32_t bit = bits & (~bits + 1);   // lowest bit set
      const Base* ca = (ba->bitmap & bit) ? ba->slots()[ia++] : nullptr;
      const Base* cb = (bb->bitmap & bit) ? bb->slots()[ib++] : nullptr;
      diff_at(ca, cb, shift + bits_per_level, f);
    }
    return;
  }
  // A leaf or bucket on at least one side: few names here on that side; match them by key.
  std::vector<const Leaf*> older, newer;
  auto collect = [](const Base* n, std::vector<const Leaf*>& out) {
    std::vector<const Base*> todo{n};
    while (!todo.empty()) {
      const Base* x = todo.back();
      todo.pop_back();
      switch (x->kind) {
        case Kind::leaf: out.push_back(static_cast<const Leaf*>(x)); break;
        case Kind::bucket:
          for (const Base* l : static_cast<const Bucket*>(x)->leaves) todo.push_back(l);
          break;
        case Kind::branch: {
          const auto* br = static_cast<const Branch*>(x);
          for (unsigned i = 0, size = br->size(); i < size; ++i) todo.push_back(br->slots()[i]);
          break;
        }
      }
    }
  };
  collect(a, older);
  collect(b, newer);
  auto same_name = [](const Leaf* x, const Leaf* y) {
    if (x->hash != y->hash || x->node.owner.size() != y->node.owner.size()) return false;
    for (std::size_t i = 0; i < x->node.owner.size(); ++i)
      if (fold(uint8_t(x->node.owner[i])) != fold(uint8_t(y->node.owner[i]))) return false;
    return true;
  };
  std::vector<bool> matched(newer.size(), false);
  for (const Leaf* x : older) {
    const Leaf* twin = nullptr;
    for (std::size_t j = 0; j < newer.size(); ++j) {
      if (!matched[j] && same_name(x, newer[j])) {
        matched[j] = true;
        twin = newer[j];
        break;
      }
    }
    if (twin != x) f(&x->node, twin ? &twin->node : nullptr);
  }
  for (std::size_t j = 0; j < newer.size(); ++j)
    if (!matched[j]) f(nullptr, &newer[j]->node);
}

}  // namespace

void Trie::diff(const Trie& older,
                const std::function<void(const Node* before, const Node* after)>& f) const {
  diff_at(older.root_, root_, 0, f);
}

Trie::Trie(const Trie& other) : root_(other.root_) {
  if (root_) retain(root_);
}

Trie& Trie::operator=(const Trie& other) {
  if (other.root_) retain(other.root_);
  if (root_) release(root_);
  root_ = other.root_;
  return *this;
}

Trie& Trie::operator=(Trie&& other) noexcept {
  if (this != &other) {
    if (root_) release(root_);
    root_ = other.root_;
    other.root_ = nullptr;
  }
  return *this;
}

Trie::~Trie() {
  if (root_) release(root_);
}

const Node* Trie::find(std::string_view key, uint64_t hash) const noexcept {
  const Base* n = root_;
  unsigned shift = 0;
  while (n != nullptr) {
    switch (n->kind) {
      case Kind::branch: {
        const auto* b = static_cast<const Branch*>(n);
        const uint32_t bit = bit_at(hash, shift);
        if ((b->bitmap & bit) == 0) return nullptr;
        n = b->slots()[b->index_of(bit)];
        shift += bits_per_level;
        break;
      }
      case Kind::leaf: {
        const auto* l = static_cast<const Leaf*>(n);
        return l->hash == hash && key_matches(l->node, key) ? &l->node : nullptr;
      }
      case Kind::bucket: {
        const auto* k = static_cast<const Bucket*>(n);
        if (k->hash != hash) return nullptr;
        for (const Base* l : k->leaves)
          if (key_matches(static_cast<const Leaf*>(l)->node, key))
            return &static_cast<const Leaf*>(l)->node;
        return nullptr;
      }
    }
  }
  return nullptr;
}

Node* Trie::edit(std::string_view key, uint64_t hash) {
  if (find(key, hash) == nullptr) return nullptr;   // do not copy a path for nothing
  return edit_present(key, hash);
}

Node* Trie::edit_present(std::string_view key, uint64_t hash) {
  assert(find(key, hash) != nullptr);
  Base** slot = &root_;
  unsigned shift = 0;
  while (true) {
    make_private(*slot);
    Base* n = *slot;
    switch (n->kind) {
      case Kind::branch: {
        auto* b = static_cast<Branch*>(n);
        slot = &b->slots()[b->index_of(bit_at(hash, shift))];
        shift += bits_per_level;
        break;
      }
      case Kind::leaf:
        return &static_cast<Leaf*>(n)->node;
      case Kind::bucket:
        for (Base*& l : static_cast<Bucket*>(n)->leaves) {
          if (!key_matches(static_cast<Leaf*>(l)->node, key)) continue;
          make_private(l);
          return &static_cast<Leaf*>(l)->node;
        }
        assert(false && "precondition: the key is present");
        return nullptr;
    }
  }
}

Node* Trie::insert([[maybe_unused]] std::string_view key, uint64_t hash, std::string_view owner) {
  assert(find(key, hash) == nullptr);
  auto* leaf = new Leaf(hash, owner);
  Base** slot = &root_;
  unsigned shift = 0;
  while (true) {
    if (*slot == nullptr) {
      *slot = leaf;
      return &leaf->node;
    }
    if ((*slot)->kind == Kind::branch) {
      make_private(*slot);
      auto* b = static_cast<Branch*>(*slot);
      const uint32_t bit = bit_at(hash, shift);
      if (b->bitmap & bit) {
        slot = &b->slots()[b->index_of(bit)];
        shift += bits_per_level;
        continue;
      }
      // Branches are exactly sized, so adding a child means a new branch.
      Branch* nb = Branch::make(b->bitmap | bit);
      const unsigned idx = nb->index_of(bit);
      for (unsigned i = 0, j = 0, size = nb->size(); j < size; ++j)
        nb->slots()[j] = (j == idx) ? leaf : b->slots()[i++];
      Branch::free_shell(b);
      *slot = nb;
      return &leaf->node;
    }
    // A leaf or bucket occupies the position: the new leaf joins it (equal full hash) or
    // both go into a fresh subtrie split on the next hash bits.
    Base* n = *slot;
    if (hash_of(n) == hash) {
      if (n->kind == Kind::bucket) {
        make_private(*slot);
        static_cast<Bucket*>(*slot)->leaves.push_back(leaf);
      } else {
        auto* k = new Bucket(hash);
        k->leaves = {n, leaf};   // takes over the slot's reference to n
        *slot = k;
      }
    } else {
      *slot = make_pair(n, leaf, shift);
    }
    return &leaf->node;
  }
}

void Trie::erase(std::string_view key, uint64_t hash) {
  assert(find(key, hash) != nullptr);
  erase_at(root_, 0, key, hash);
}

void Trie::for_each(const std::function<void(const Node&)>& f) const {
  if (root_) for_each_at(root_, f);
}

}  // namespace vrdns::dns::hamt
