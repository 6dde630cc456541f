// The test build's extra exports: where an array's memory lies, for the tests
// of the state allocator's alignment and placement and of huge pages.
#include "test_exports.h"

#include <cstdint>

namespace simd_optim {
namespace {

uintptr_t address_of(const Napi::TypedArray& view) {
  return reinterpret_cast<uintptr_t>(static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset());
}

// addressAlignment(view): the largest power of two (up to 4096) that divides
// the address of the view's first byte. For tests of the state allocator.
Napi::Value AddressAlignment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsTypedArray()) {
    throw Napi::TypeError::New(env, "addressAlignment(view: TypedArray)");
  }
  const auto address = address_of(info[0].As<Napi::TypedArray>());
  uintptr_t alignment = 1;
  while (alignment < 4096 && address % (alignment * 2) == 0) alignment *= 2;
  return Napi::Number::New(env, static_cast<double>(alignment));
}

// pageOffset(view): where the view's first byte sits within its 4 KiB page.
// For tests of the state allocator's placement.
Napi::Value PageOffset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "pageOffset(view: TypedArray)");
  const auto address = address_of(info[0].As<Napi::TypedArray>());
  return Napi::Number::New(env, static_cast<double>(address % 4096));
}

// addressOf(view): the address of the view's first byte, as a number (user
// space addresses fit in 53 bits). For tests of huge-page placement.
Napi::Value AddressOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "addressOf(view: TypedArray)");
  const auto address = address_of(info[0].As<Napi::TypedArray>());
  return Napi::Number::New(env, static_cast<double>(address));
}

}  // namespace

void register_test_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("addressAlignment", Napi::Function::New(env, AddressAlignment, "addressAlignment"));
  exports.Set("pageOffset", Napi::Function::New(env, PageOffset, "pageOffset"));
  exports.Set("addressOf", Napi::Function::New(env, AddressOf, "addressOf"));
}

}  // namespace simd_optim
