// The main() of the micro benchmarks that touch shared_ptr (Buffer).
//
// libstdc++ skips the atomic instructions of shared_ptr reference counts
// (hence Buffer's) in a process that has never had a second thread
// (glibc's __libc_single_threaded). The runtime always runs several
// threads, so one is started first: copies then cost what they cost there.
#include <benchmark/benchmark.h>

#include <thread>

int main(int argc, char** argv) {
  std::thread([] {}).join();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
