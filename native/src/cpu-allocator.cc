#include "cpu-allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <atomic>
#include <map>
#include <mutex>
#include <cstdlib>
#include <cstring>

namespace lowbit {
namespace {

// c10's default CPU allocator takes posix_memalign(64, n). glibc serves an aligned request by asking
// for n + 64 + a header and trimming the ends, so a freed n-byte block never fits the next n-byte
// request: it has to sit next to other free memory to be reused. In a training loop the block's
// neighbour is often a small live object (a JS wrapper's handle, freed only by the garbage
// collector), so every step took fresh pages from the kernel: a scoped loop of one 6 MiB ReLU grew the
// heap by 6 MiB per iteration, and each fresh page costs a page fault (~10 us on a virtual machine).
// Plain malloc of n + 64 + 16 bytes, aligned here, makes the same-size requests of the next step exact
// fits for the blocks this step freed (test/tensor/memory.test.ts).
//
// Blocks from 32 MiB up are cached here as well: glibc mmaps every request above its mmap threshold,
// and that threshold cannot be set above 32 MiB, so each such tensor (GPFQ's 115 MB unfolded layer
// inputs, large activations) came as fresh pages and went back to the kernel when freed. Freed large
// blocks wait in a size-keyed cache, up to 1 GiB in all, for the next request of their size class.
constexpr size_t kAlignment = 64;  // c10::gAlignment: what ATen's vectorized kernels expect
constexpr size_t kLargeBlock = size_t{32} << 20;
constexpr size_t kLargeGranule = size_t{2} << 20;  // large sizes are rounded up to this, so near sizes share blocks
constexpr size_t kCacheLimit = size_t{1} << 30;

std::atomic<int64_t> liveBlocks{0};
std::atomic<int64_t> liveBytes{0};
std::atomic<int64_t> totalAllocations{0};

struct Header {
  void* base;        // what malloc returned
  size_t bytes;      // what was asked for
  size_t blockSize;  // the malloc'd size of a cached-class (large) block, 0 for the others
};
static_assert(sizeof(Header) <= kAlignment, "the header must fit in the alignment slack");

struct LargeBlockCache {
  std::mutex mutex;
  std::multimap<size_t, void*> blocks;  // blockSize -> base, freed large blocks
  size_t bytes = 0;
};

// Never destroyed: tensors that libtorch's own statics hold are freed during exit, after this file's
// statics would have been.
LargeBlockCache& largeCache() {
  static auto* cache = new LargeBlockCache();
  return *cache;
}

// A cached block of exactly this size class, or nullptr.
void* takeCached(size_t blockSize) {
  LargeBlockCache& c = largeCache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.blocks.find(blockSize);
  if (it == c.blocks.end()) return nullptr;
  void* base = it->second;
  c.blocks.erase(it);
  c.bytes -= blockSize;
  return base;
}

// Keeps a freed large block for reuse while the cache has room; else gives it back.
void releaseLarge(void* base, size_t blockSize) {
  LargeBlockCache& c = largeCache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.bytes + blockSize <= kCacheLimit) {
      c.blocks.emplace(blockSize, base);
      c.bytes += blockSize;
      return;
    }
  }
  std::free(base);
}

void freeAligned(void* data) {
  if (data == nullptr) return;
  const Header* h = reinterpret_cast<const Header*>(static_cast<char*>(data) - sizeof(Header));
  liveBlocks.fetch_sub(1, std::memory_order_relaxed);
  liveBytes.fetch_sub(static_cast<int64_t>(h->bytes), std::memory_order_relaxed);
  if (h->blockSize != 0) releaseLarge(h->base, h->blockSize);
  else std::free(h->base);
}

c10::DataPtr allocateAligned(size_t n) {
  if (n == 0) return {nullptr, nullptr, &freeAligned, c10::Device(c10::DeviceType::CPU)};
  // The header goes just below the aligned address, so at least sizeof(Header) bytes of slack.
  size_t need = n + kAlignment + sizeof(Header);
  size_t blockSize = 0;
  void* base = nullptr;
  if (need >= kLargeBlock) {
    blockSize = (need + kLargeGranule - 1) / kLargeGranule * kLargeGranule;
    need = blockSize;
    base = takeCached(blockSize);
  }
  if (base == nullptr) base = std::malloc(need);
  TORCH_CHECK(base != nullptr, "lowbit CPU allocator: out of memory allocating ", n, " bytes");
  const uintptr_t first = reinterpret_cast<uintptr_t>(base) + sizeof(Header);
  char* data = reinterpret_cast<char*>((first + kAlignment - 1) & ~static_cast<uintptr_t>(kAlignment - 1));
  auto* h = reinterpret_cast<Header*>(data - sizeof(Header));
  h->base = base;
  h->bytes = n;
  h->blockSize = blockSize;
  liveBlocks.fetch_add(1, std::memory_order_relaxed);
  liveBytes.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
  totalAllocations.fetch_add(1, std::memory_order_relaxed);
  return {data, data, &freeAligned, c10::Device(c10::DeviceType::CPU)};
}

// The Allocator interface changed across the libtorch versions LIBTORCH_DIR may point at: allocate()
// is const up to 2.2 and non-const after, and 2.3 added a pure virtual copy_data(). Declaring both
// allocate() overloads and copy_data() without `override` compiles against either: the matching
// ones override, the others are plain members.
struct AlignedMallocAllocator final : public c10::Allocator {
  c10::DataPtr allocate(size_t n) const { return allocateAligned(n); }
  c10::DataPtr allocate(size_t n) { return allocateAligned(n); }
  void copy_data(void* dest, const void* src, std::size_t count) const { std::memcpy(dest, src, count); }
  c10::DeleterFnPtr raw_deleter() const override { return &freeAligned; }
};

AlignedMallocAllocator allocator;
std::atomic<bool> installed{false};

}  // namespace

void installCpuAllocator() {
  if (installed.exchange(true)) return;
  // Priority above c10's registration (0), so a later default registration cannot take it back.
  c10::SetCPUAllocator(&allocator, /*priority=*/1);
}

bool cpuAllocatorInstalled() { return installed.load(); }

CpuAllocatorStats cpuAllocatorStats() {
  LargeBlockCache& c = largeCache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return {liveBlocks.load(), liveBytes.load(), totalAllocations.load(), static_cast<int64_t>(c.blocks.size()), static_cast<int64_t>(c.bytes)};
}

void releaseCachedBlocks() {
  LargeBlockCache& c = largeCache();
  std::multimap<size_t, void*> blocks;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    blocks.swap(c.blocks);
    c.bytes = 0;
  }
  for (auto& [size, base] : blocks) std::free(base);
}

}  // namespace lowbit
