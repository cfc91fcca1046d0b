// Prints the widest instruction set of this CPU that the network code can use.
#include <cstdio>
int main() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    std::puts("avx512");
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    std::puts("avx2");
  else
    std::puts("baseline");
  return 0;
}
