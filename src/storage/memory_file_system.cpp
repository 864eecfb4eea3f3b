#include "storage/memory_file_system.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <unordered_set>

namespace raft::storage {

// File contents: what reads see, what is durable, and the changes between.
struct MemoryFileSystem::Inode {
  struct Op {
    bool is_write = false;
    uint64_t offset = 0;          // write: where
    std::vector<uint8_t> bytes;   // write: what
    uint64_t size = 0;            // truncate: the new size
  };
  std::vector<uint8_t> data;      // what reads see
  std::vector<uint8_t> durable;   // what a crash leaves (before pending)
  std::vector<Op> pending;        // issued since the last sync, in order

  static void apply(std::vector<uint8_t>* d, const Op& op, size_t bytes_max) {
    if (op.is_write) {
      size_t n = std::min(bytes_max, op.bytes.size());
      if (d->size() < op.offset + n) d->resize(op.offset + n, 0);
      if (n) std::memcpy(d->data() + op.offset, op.bytes.data(), n);
    } else {
      d->resize(op.size, 0);
    }
  }
};

// A directory entry's target: a file or a directory.
struct MemoryFileSystem::Node {
  struct DirOp {
    enum Kind { kLink, kUnlink, kRename } kind;
    std::string name;  // kRename: from
    std::string to;    // kRename only
    std::shared_ptr<Node> node;
  };
  bool is_dir = false;
  std::shared_ptr<Inode> inode;  // files only
  std::map<std::string, std::shared_ptr<Node>> children;          // what lookups see
  std::map<std::string, std::shared_ptr<Node>> durable_children;  // before pending
  std::vector<DirOp> pending;

  static void apply(std::map<std::string, std::shared_ptr<Node>>* m, const DirOp& op) {
    switch (op.kind) {
      case DirOp::kLink: (*m)[op.name] = op.node; break;
      case DirOp::kUnlink: m->erase(op.name); break;
      case DirOp::kRename: {
        auto it = m->find(op.name);
        if (it == m->end()) break;
        auto node = it->second;
        m->erase(it);
        (*m)[op.to] = std::move(node);
        break;
      }
    }
  }
};

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    i = j + 1;
  }
  return parts;
}

Status dead_handle(const std::string& path) {
  return io_error(path + ": file handle from before a simulated crash");
}

}  // namespace

class MemoryFile final : public File {
 public:
  MemoryFile(MemoryFileSystem* fs, std::shared_ptr<MemoryFileSystem::Inode> inode,
             std::string path, uint64_t generation, bool writable)
      : fs_(fs), inode_(std::move(inode)), path_(std::move(path)),
        generation_(generation), writable_(writable) {}

  Result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) override {
    std::lock_guard lock(fs_->mu_);
    if (fs_->generation_ != generation_) return dead_handle(path_);
    const auto& d = inode_->data;
    if (offset >= d.size()) return size_t{0};
    size_t n = std::min<uint64_t>(out.size(), d.size() - offset);
    if (n) std::memcpy(out.data(), d.data() + offset, n);
    return n;
  }

  Status write_at(uint64_t offset, std::span<const uint8_t> data) override {
    std::lock_guard lock(fs_->mu_);
    RAFT_RETURN_IF_ERROR(check_writable());
    MemoryFileSystem::Inode::Op op;
    op.is_write = true;
    op.offset = offset;
    op.bytes.assign(data.begin(), data.end());
    MemoryFileSystem::Inode::apply(&inode_->data, op, op.bytes.size());
    inode_->pending.push_back(std::move(op));
    return Status();
  }

  Status sync_data() override { return sync(); }

  Status sync() override {
    std::lock_guard lock(fs_->mu_);
    if (fs_->generation_ != generation_) return dead_handle(path_);
    inode_->durable = inode_->data;
    inode_->pending.clear();
    ++fs_->sync_count_;
    return Status();
  }

  Status truncate(uint64_t size) override {
    std::lock_guard lock(fs_->mu_);
    RAFT_RETURN_IF_ERROR(check_writable());
    return resize(size);
  }

  Status allocate(uint64_t size) override {
    std::lock_guard lock(fs_->mu_);
    RAFT_RETURN_IF_ERROR(check_writable());
    if (inode_->data.size() >= size) return Status();
    return resize(size);
  }

  Result<uint64_t> size() override {
    std::lock_guard lock(fs_->mu_);
    if (fs_->generation_ != generation_) return dead_handle(path_);
    return static_cast<uint64_t>(inode_->data.size());
  }

  const std::string& path() const override { return path_; }

 private:
  Status check_writable() {
    if (fs_->generation_ != generation_) return dead_handle(path_);
    if (!writable_) return io_error(path_ + ": opened read-only");
    return Status();
  }
  Status resize(uint64_t size) {
    MemoryFileSystem::Inode::Op op;
    op.size = size;
    MemoryFileSystem::Inode::apply(&inode_->data, op, 0);
    inode_->pending.push_back(std::move(op));
    return Status();
  }

  MemoryFileSystem* fs_;
  std::shared_ptr<MemoryFileSystem::Inode> inode_;
  std::string path_;
  uint64_t generation_;
  bool writable_;
};

class MemoryFileLock final : public FileLock {
 public:
  MemoryFileLock(MemoryFileSystem* fs, std::string path, uint64_t generation)
      : fs_(fs), path_(std::move(path)), generation_(generation) {}
  ~MemoryFileLock() override {
    std::lock_guard lock(fs_->mu_);
    // A crash released every lock; a newer holder may own the name now.
    if (fs_->generation_ == generation_) fs_->locked_.erase(path_);
  }

 private:
  MemoryFileSystem* fs_;
  std::string path_;
  uint64_t generation_;
};

MemoryFileSystem::MemoryFileSystem() : root_(std::make_shared<Node>()) { root_->is_dir = true; }
MemoryFileSystem::~MemoryFileSystem() = default;

uint64_t MemoryFileSystem::sync_count() const {
  std::lock_guard lock(mu_);
  return sync_count_;
}

MemoryFileSystem::Node* MemoryFileSystem::lookup(const std::string& path) {
  Node* n = root_.get();
  for (const auto& part : split_path(path)) {
    if (!n->is_dir) return nullptr;
    auto it = n->children.find(part);
    if (it == n->children.end()) return nullptr;
    n = it->second.get();
  }
  return n;
}

Result<MemoryFileSystem::Node*> MemoryFileSystem::parent_of(const std::string& path,
                                                            std::string* name) {
  auto parts = split_path(path);
  if (parts.empty()) return invalid_argument(path + ": not a file name");
  *name = parts.back();
  Node* n = root_.get();
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    auto it = n->children.find(parts[i]);
    if (it == n->children.end() || !it->second->is_dir)
      return not_found(path + ": no such directory");
    n = it->second.get();
  }
  return n;
}

Result<std::unique_ptr<File>> MemoryFileSystem::open_file(const std::string& path, OpenMode mode) {
  std::lock_guard lock(mu_);
  std::string name;
  auto parent = parent_of(path, &name);
  if (!parent.ok()) return parent.status();
  Node* dir = *parent;
  auto it = dir->children.find(name);
  if (it != dir->children.end()) {
    if (it->second->is_dir) return io_error(path + ": is a directory");
    if (mode == OpenMode::kCreateNew)
      return Status(ErrorCode::kAlreadyExists, path + ": already exists");
    return std::unique_ptr<File>(new MemoryFile(this, it->second->inode, path, generation_,
                                                mode != OpenMode::kRead));
  }
  if (mode == OpenMode::kRead || mode == OpenMode::kReadWrite)
    return not_found(path + ": no such file");
  auto node = std::make_shared<Node>();
  node->inode = std::make_shared<Inode>();
  dir->children[name] = node;
  dir->pending.push_back({Node::DirOp::kLink, name, "", node});
  return std::unique_ptr<File>(new MemoryFile(this, node->inode, path, generation_, true));
}

Status MemoryFileSystem::rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  std::string from_name, to_name;
  auto from_dir = parent_of(from, &from_name);
  if (!from_dir.ok()) return from_dir.status();
  auto to_dir = parent_of(to, &to_name);
  if (!to_dir.ok()) return to_dir.status();
  if (*from_dir != *to_dir) return invalid_argument(from + ": rename across directories");
  Node* dir = *from_dir;
  auto it = dir->children.find(from_name);
  if (it == dir->children.end()) return not_found(from + ": no such file");
  auto target = dir->children.find(to_name);
  if (target != dir->children.end() && target->second->is_dir != it->second->is_dir)
    return io_error(to + ": rename between a file and a directory");
  if (target != dir->children.end() && target->second->is_dir &&
      !target->second->children.empty())
    return io_error(to + ": directory not empty");
  auto node = it->second;
  Node::DirOp op{Node::DirOp::kRename, from_name, to_name, node};
  Node::apply(&dir->children, op);
  dir->pending.push_back(std::move(op));
  return Status();
}

Status MemoryFileSystem::remove_file(const std::string& path) {
  std::lock_guard lock(mu_);
  std::string name;
  auto parent = parent_of(path, &name);
  if (!parent.ok()) return parent.status();
  auto it = (*parent)->children.find(name);
  if (it == (*parent)->children.end()) return not_found(path + ": no such file");
  if (it->second->is_dir) return io_error(path + ": is a directory");
  (*parent)->children.erase(it);
  (*parent)->pending.push_back({Node::DirOp::kUnlink, name, "", nullptr});
  return Status();
}

Status MemoryFileSystem::create_dir(const std::string& path) {
  std::lock_guard lock(mu_);
  std::string name;
  auto parent = parent_of(path, &name);
  if (!parent.ok()) return parent.status();
  auto it = (*parent)->children.find(name);
  if (it != (*parent)->children.end()) {
    if (it->second->is_dir) return Status();
    return Status(ErrorCode::kAlreadyExists, path + ": a file has that name");
  }
  auto node = std::make_shared<Node>();
  node->is_dir = true;
  (*parent)->children[name] = node;
  (*parent)->pending.push_back({Node::DirOp::kLink, name, "", node});
  return Status();
}

Status MemoryFileSystem::remove_dir(const std::string& path) {
  std::lock_guard lock(mu_);
  std::string name;
  auto parent = parent_of(path, &name);
  if (!parent.ok()) return parent.status();
  auto it = (*parent)->children.find(name);
  if (it == (*parent)->children.end()) return not_found(path + ": no such directory");
  if (!it->second->is_dir) return io_error(path + ": not a directory");
  if (!it->second->children.empty()) return io_error(path + ": directory not empty");
  (*parent)->children.erase(it);
  (*parent)->pending.push_back({Node::DirOp::kUnlink, name, "", nullptr});
  return Status();
}

Result<std::vector<std::string>> MemoryFileSystem::list_dir(const std::string& path) {
  std::lock_guard lock(mu_);
  Node* n = lookup(path);
  if (n == nullptr) return not_found(path + ": no such directory");
  if (!n->is_dir) return io_error(path + ": not a directory");
  std::vector<std::string> names;
  for (const auto& [name, child] : n->children) names.push_back(name);
  return names;
}

Status MemoryFileSystem::sync_dir(const std::string& path) {
  std::lock_guard lock(mu_);
  Node* n = lookup(path);
  if (n == nullptr) return not_found(path + ": no such directory");
  if (!n->is_dir) return io_error(path + ": not a directory");
  n->durable_children = n->children;
  n->pending.clear();
  ++sync_count_;
  return Status();
}

Result<bool> MemoryFileSystem::exists(const std::string& path) {
  std::lock_guard lock(mu_);
  return lookup(path) != nullptr;
}

Result<bool> MemoryFileSystem::is_dir(const std::string& path) {
  std::lock_guard lock(mu_);
  Node* n = lookup(path);
  return n != nullptr && n->is_dir;
}

Result<std::unique_ptr<FileLock>> MemoryFileSystem::lock_file(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    if (locked_.count(path)) return Status(ErrorCode::kBusy, path + ": already locked");
  }
  // The lock file exists on disk, as with flock(2).
  auto f = open_file(path, OpenMode::kCreate);
  if (!f.ok()) return f.status();
  std::lock_guard lock(mu_);
  if (!locked_.insert(path).second) return Status(ErrorCode::kBusy, path + ": already locked");
  return std::unique_ptr<FileLock>(new MemoryFileLock(this, path, generation_));
}

void MemoryFileSystem::crash(CrashMode mode, uint64_t seed) {
  std::lock_guard lock(mu_);
  std::mt19937_64 rng(seed);
  auto keep_count = [&](size_t pending) -> size_t {
    switch (mode) {
      case CrashMode::kLoseUnsynced: return 0;
      case CrashMode::kKeepAll: return pending;
      case CrashMode::kKeepPrefix: return pending == 0 ? 0 : rng() % (pending + 1);
    }
    return 0;
  };
  // Rebuild the tree from the durable state of every directory and file
  // still reachable after the crash. Each node is visited once.
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack{root_.get()};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    if (n->is_dir) {
      auto children = n->durable_children;
      size_t keep = keep_count(n->pending.size());
      for (size_t i = 0; i < keep; ++i) Node::apply(&children, n->pending[i]);
      n->children = children;
      n->durable_children = std::move(children);
      n->pending.clear();
      for (auto& [name, child] : n->children) stack.push_back(child.get());
    } else {
      Inode* f = n->inode.get();
      std::vector<uint8_t> d = f->durable;
      size_t keep = keep_count(f->pending.size());
      for (size_t i = 0; i < keep; ++i) {
        const auto& op = f->pending[i];
        size_t bytes = op.bytes.size();
        // The last surviving write may be torn anywhere.
        if (mode == CrashMode::kKeepPrefix && i + 1 == keep && op.is_write && (rng() & 1))
          bytes = rng() % (bytes + 1);
        Inode::apply(&d, op, bytes);
      }
      f->data = d;
      f->durable = std::move(d);
      f->pending.clear();
    }
  }
  locked_.clear();
  ++generation_;
}

}  // namespace raft::storage
