// lowbit's CPU allocator for ATen: malloc with the 64-byte alignment done by hand, in place of c10's
// posix_memalign, and a cache of freed blocks of 32 MiB and up. See cpu-allocator.cc for why.
#pragma once
#include <cstdint>

namespace lowbit {

// Makes every later CPU tensor allocation go through lowbit's allocator (tensors that already exist
// keep their own deleters). Idempotent.
void installCpuAllocator();

// Whether installCpuAllocator() has run.
bool cpuAllocatorInstalled();

// Live allocations and their bytes (requested sizes), for tests and benchmarks.
struct CpuAllocatorStats {
  int64_t liveBlocks;
  int64_t liveBytes;
  int64_t totalAllocations;
  // Freed large blocks (32 MiB and up) held for reuse.
  int64_t cachedBlocks;
  int64_t cachedBytes;
};
CpuAllocatorStats cpuAllocatorStats();

// Gives the cached large blocks back to the C library (and so to the kernel).
void releaseCachedBlocks();

}  // namespace lowbit
