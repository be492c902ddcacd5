// Writing an output so that it is whole or absent: bytes go to an unnamed
// file in the target's directory (O_TMPFILE); commit() fsyncs it, links it
// in under a hidden temporary name and renames that over the target, then
// fsyncs the directory. Until then (an error, a full disk, a crash, a kill)
// the target and any earlier file at its path are untouched, and there is no
// file to clean up: an unnamed file vanishes with the process. Filesystems
// without O_TMPFILE get a named hidden temporary that the destructor removes.
//
// commit() is two phases, which AtomicFileSet uses to make several files (a
// sharded checkpoint and its index) appear together or not at all: stage()
// puts every byte on disk and leaves the target untouched; publish() renames
// the staged file into place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace taxon {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // throws InputError (T0604)
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);  // large writes go straight from the caller's memory
  void write(std::string_view text) { write(text.data(), text.size()); }
  // The same bytes as write(data, size), copied file to file inside the kernel
  // when it can (copy_file_range), so they never pass through user space.
  void copy_from(int fd, uint64_t offset, const void* data, std::size_t size);
  uint64_t written() const { return written_; }
  const std::string& path() const { return path_; }
  // stage() then publish().
  void commit();
  // Every byte written so far on disk (fsync); no more writes after it. The
  // file stays unnamed (or hidden) and the target untouched.
  void stage();
  // Renames the staged file (staging it first if need be) over the target, and
  // fsyncs the directory.
  void publish();

 private:
  friend class AtomicFileSet;
  void flush_buffer();
  void name_staged();  // links an unnamed staged file in under a hidden name, closes it
  [[noreturn]] void fail(const char* what);
  std::string path_, directory_;
  std::string temporary_;  // the named temporary, once there is one
  int fd_ = -1;
  std::vector<char> buffer_;
  uint64_t written_ = 0;
  bool staged_ = false;
  bool committed_ = false;
};

// Files that appear together or not at all: the shards of a checkpoint and its
// index. Members are written one after another (add() stages the member
// before it) and stay unnamed until commit(), which renames them into place in
// the order added, the last one (the index) last. Before any member is renamed,
// an earlier file at the last member's path is moved aside, so an old index
// never names a mix of old and new shards. When commit() fails, every member
// already renamed is taken back and the earlier files are restored; when the set
// is destroyed uncommitted (an error while writing any member), no new file
// remains and no earlier file was touched. A kill leaves the earlier files and
// nothing else, except between the first and the last rename of commit() (the
// old files are then under hidden names beside the targets, the index absent),
// and except members beyond the 128 most recent, which wait under hidden names
// so as not to hold a descriptor each.
class AtomicFileSet {
 public:
  AtomicFileSet() = default;
  ~AtomicFileSet();
  AtomicFileSet(const AtomicFileSet&) = delete;
  AtomicFileSet& operator=(const AtomicFileSet&) = delete;

  // A new member that will be `path`; stages the member added before it.
  AtomicFile& add(std::string path);  // throws InputError (T0604)
  // A member written by someone else: the finished, fsynced file `written`, in
  // the same filesystem as `path`, becomes `path` on commit; it is removed if the
  // set is not committed.
  void adopt(std::string written, std::string path);
  void commit();  // throws InputError (T0604), having restored the earlier files
  std::size_t size() const { return members_.size(); }

  // Tests only: commit() fails as it reaches member `index`, after the members
  // before it are in place.
  void fail_publishing_at_for_test(std::size_t index) { fail_at_ = index; }

 private:
  struct Member {
    std::unique_ptr<AtomicFile> file;  // or, adopted:
    std::string written;
    std::string path;
    const std::string& temporary() const { return file ? file->temporary_ : written; }
  };
  void stage_previous();
  std::vector<Member> members_;
  std::size_t open_staged_ = 0, oldest_open_ = 0;  // staged members still holding a descriptor; where to look for the oldest
  bool committed_ = false;
  std::size_t fail_at_ = std::numeric_limits<std::size_t>::max();
};

}  // namespace taxon
