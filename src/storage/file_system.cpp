#include "storage/file_system.hpp"

namespace raft::storage {

std::string join_path(std::string_view dir, std::string_view name) {
  std::string p(dir);
  if (!p.empty() && p.back() != '/') p.push_back('/');
  p.append(name);
  return p;
}

std::string parent_dir(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Status read_exact(File* file, uint64_t offset, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    Result<size_t> n = file->read_at(offset + done, out.subspan(done));
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return corruption(file->path() + ": offset " + std::to_string(offset) + ": wanted " +
                        std::to_string(out.size()) + " bytes, the file ends after " +
                        std::to_string(done));
    }
    done += *n;
  }
  return Status();
}

Result<std::string> read_whole_file(FileSystem* fs, const std::string& path) {
  auto file = fs->open_file(path, OpenMode::kRead);
  if (!file.ok()) return file.status();
  auto size = (*file)->size();
  if (!size.ok()) return size.status();
  std::string out(static_cast<size_t>(*size), '\0');
  RAFT_RETURN_IF_ERROR(read_exact(
      file->get(), 0, {reinterpret_cast<uint8_t*>(out.data()), out.size()}));
  return out;
}

Status write_file_atomically(FileSystem* fs, const std::string& path, std::string_view contents) {
  std::string tmp = path + ".tmp";
  {
    // kCreate, not kCreateNew: a leftover from a crash is simply replaced.
    auto file = fs->open_file(tmp, OpenMode::kCreate);
    if (!file.ok()) return file.status();
    RAFT_RETURN_IF_ERROR((*file)->truncate(0));
    RAFT_RETURN_IF_ERROR((*file)->write_at(
        0, {reinterpret_cast<const uint8_t*>(contents.data()), contents.size()}));
    RAFT_RETURN_IF_ERROR((*file)->sync());
  }
  RAFT_RETURN_IF_ERROR(fs->rename(tmp, path));
  return fs->sync_dir(parent_dir(path));
}

Status create_dirs_durably(FileSystem* fs, const std::string& dir) {
  auto present = fs->is_dir(dir);
  if (!present.ok()) return present.status();
  if (*present) return Status();
  std::string parent = parent_dir(dir);
  if (parent != dir) RAFT_RETURN_IF_ERROR(create_dirs_durably(fs, parent));
  RAFT_RETURN_IF_ERROR(fs->create_dir(dir));
  return fs->sync_dir(parent);
}

Status remove_tree(FileSystem* fs, const std::string& path) {
  auto dir = fs->is_dir(path);
  if (!dir.ok()) return dir.status();
  if (!*dir) return fs->remove_file(path);
  auto names = fs->list_dir(path);
  if (!names.ok()) return names.status();
  for (const auto& name : *names) RAFT_RETURN_IF_ERROR(remove_tree(fs, join_path(path, name)));
  return fs->remove_dir(path);
}

}  // namespace raft::storage
