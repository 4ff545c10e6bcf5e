#ifndef GMEMFUZZ_LIBFUZZER_SHIM_H
#define GMEMFUZZ_LIBFUZZER_SHIM_H
#include <stddef.h>
#include <stdint.h>
/// libFuzzer's own byte mutator, callable from LLVMFuzzerCustomMutator.
size_t LLVMFuzzerMutate(uint8_t *Data, size_t Size, size_t MaxSize);
#endif
