// lowbit's native core: a thin Node-API binding over ATen and its autograd.
//
// A tensor crosses into JS as a Napi::External that owns one reference to an at::Tensor. Freeing is
// deterministic through dispose() (driven by the TypeScript scopes) with the External's finalizer as the
// safety net. No policy lives here: each function is one ATen call with its arguments converted.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>
#include <napi.h>

#include "fused-quant.h"
#include "clip-search.h"
#include "cpu-allocator.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

constexpr uint32_t kHandleTag = 0x6c6f7762;  // "lowb": tells our Externals from anyone else's

struct Handle {
  uint32_t tag = kHandleTag;
  at::Tensor t;
  int64_t bytes = 0;
  // Bytes told to V8 as external memory (0 until reportExternal). Only tensors that the GC may have to
  // free are reported: a training step's scoped temporaries (hundreds of MB, freed deterministically
  // by scope()) made V8 start ~3 full GCs per ResNet-20 step: its forward took 76 ms instead of ~40.
  int64_t reported = 0;
};

// Finalizers run inside garbage collection, where V8's accounting must not be touched, so their
// releases are queued here and reported on the next allocation or dispose.
//
// They are "basic" finalizers (they take Napi::BasicEnv; binding.gyp defines NAPI_EXPERIMENTAL): Node
// runs those during GC itself. Ordinary finalizers wait for the event loop, so a synchronous training
// loop piled up ~200-400 bytes per tensor it ever made (measured: +150 MiB over 350k scoped tensors,
// and 2,000 undisposed 256 KiB tensors were all still held) until it returned. With basic finalizers
// both stay flat. On a Node without them, node-addon-api falls back to the deferred kind.
int64_t pendingRelease = 0;

void reportMemory(Napi::Env env, int64_t delta) {
  delta -= pendingRelease;
  pendingRelease = 0;
  if (delta != 0) Napi::MemoryManagement::AdjustExternalMemory(env, delta);
}

Napi::Value wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Null();
  auto* h = new Handle();
  h->bytes = static_cast<int64_t>(t.nbytes());
  h->t = std::move(t);
  reportMemory(env, 0);  // settle releases queued by finalizers
  return Napi::External<Handle>::New(env, h, [](Napi::BasicEnv, Handle* h) {
    pendingRelease += h->reported;
    delete h;
  });
}

[[noreturn]] void fail(Napi::Env env, const std::string& msg) { throw Napi::Error::New(env, msg); }

Handle* handleAt(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsExternal()) fail(info.Env(), "argument " + std::to_string(i) + ": expected a Tensor");
  auto* h = v.As<Napi::External<Handle>>().Data();
  if (h == nullptr || h->tag != kHandleTag)
    fail(info.Env(), "argument " + std::to_string(i) + ": expected a Tensor");
  return h;
}

const at::Tensor& T(const Napi::CallbackInfo& info, size_t i) {
  Handle* h = handleAt(info, i);
  if (!h->t.defined())
    fail(info.Env(), "Tensor used after dispose(): keep it (keep(t)) or return it from the scope that made it");
  return h->t;
}

bool isNone(const Napi::CallbackInfo& info, size_t i) {
  return i >= info.Length() || info[i].IsUndefined() || info[i].IsNull();
}

c10::optional<at::Tensor> OT(const Napi::CallbackInfo& info, size_t i) {
  if (isNone(info, i)) return c10::nullopt;
  return T(info, i);
}

double D(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) fail(info.Env(), "argument " + std::to_string(i) + ": expected a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

int64_t I(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) fail(info.Env(), "argument " + std::to_string(i) + ": expected an integer");
  return info[i].As<Napi::Number>().Int64Value();
}

bool B(const Napi::CallbackInfo& info, size_t i) { return !isNone(info, i) && info[i].ToBoolean().Value(); }

c10::optional<int64_t> OI(const Napi::CallbackInfo& info, size_t i) {
  if (isNone(info, i)) return c10::nullopt;
  return I(info, i);
}

std::string S(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) fail(info.Env(), "argument " + std::to_string(i) + ": expected a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> IL(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsArray()) fail(info.Env(), "argument " + std::to_string(i) + ": expected an array of integers");
  auto a = info[i].As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value e = a.Get(k);
    if (!e.IsNumber()) fail(info.Env(), "argument " + std::to_string(i) + ": expected an array of integers");
    out[k] = e.As<Napi::Number>().Int64Value();
  }
  return out;
}

std::vector<at::Tensor> TL(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsArray()) fail(info.Env(), "argument " + std::to_string(i) + ": expected an array of Tensors");
  auto a = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value e = a.Get(k);
    if (!e.IsExternal()) fail(info.Env(), "argument " + std::to_string(i) + ": expected an array of Tensors");
    auto* h = e.As<Napi::External<Handle>>().Data();
    if (h == nullptr || h->tag != kHandleTag) fail(info.Env(), "expected an array of Tensors");
    if (!h->t.defined()) fail(info.Env(), "Tensor used after dispose() (in a list argument)");
    out.push_back(h->t);
  }
  return out;
}

at::ScalarType dtypeOf(Napi::Env env, const std::string& s) {
  if (s == "float32") return at::kFloat;
  if (s == "float64") return at::kDouble;
  if (s == "float16") return at::kHalf;
  if (s == "bfloat16") return at::kBFloat16;
  if (s == "int64") return at::kLong;
  if (s == "int32") return at::kInt;
  if (s == "int16") return at::kShort;
  if (s == "int8") return at::kChar;
  if (s == "uint8") return at::kByte;
  if (s == "bool") return at::kBool;
  fail(env, "unknown dtype '" + s + "': use float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8 or bool");
}

const char* dtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return "unsupported";
  }
}

at::ScalarType DT(const Napi::CallbackInfo& info, size_t i, at::ScalarType dflt = at::kFloat) {
  if (isNone(info, i)) return dflt;
  return dtypeOf(info.Env(), S(info, i));
}

at::TensorOptions opts(const Napi::CallbackInfo& info, size_t i) {
  return at::TensorOptions().dtype(DT(info, i));
}

at::MemoryFormat memoryFormat(const Napi::CallbackInfo& info, size_t i) {
  if (isNone(info, i)) return at::MemoryFormat::Contiguous;
  std::string s = S(info, i);
  if (s == "channelsLast") return at::MemoryFormat::ChannelsLast;
  if (s == "contiguous") return at::MemoryFormat::Contiguous;
  if (s == "preserve") return at::MemoryFormat::Preserve;
  fail(info.Env(), "unknown memory format '" + s + "': use contiguous, channelsLast or preserve");
}

// Generators: the default CPU generator (seeded by manualSeed) or an explicit one made by generatorNew.
// The tag comes first, as in Handle, so that a Tensor passed where a Generator belongs (or the other way
// round) is refused instead of being read as the wrong struct.
constexpr uint32_t kGenTag = 0x6c6f7767;  // "lowg"
struct GenHandle {
  uint32_t tag = kGenTag;
  at::Generator gen;
};

GenHandle* genAt(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsExternal()) fail(info.Env(), "argument " + std::to_string(i) + ": expected a Generator");
  auto* g = info[i].As<Napi::External<GenHandle>>().Data();
  if (g == nullptr || g->tag != kGenTag) fail(info.Env(), "argument " + std::to_string(i) + ": expected a Generator");
  return g;
}

c10::optional<at::Generator> G(const Napi::CallbackInfo& info, size_t i) {
  if (isNone(info, i)) return c10::nullopt;
  return genAt(info, i)->gen;
}

Napi::Value pair(Napi::Env env, std::tuple<at::Tensor, at::Tensor> r) {
  auto a = Napi::Array::New(env, 2);
  a.Set(0u, wrap(env, std::get<0>(r)));
  a.Set(1u, wrap(env, std::get<1>(r)));
  return a;
}

Napi::Value list(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto a = Napi::Array::New(env, ts.size());
  for (size_t k = 0; k < ts.size(); ++k) a.Set(static_cast<uint32_t>(k), wrap(env, ts[k]));
  return a;
}

// A JS number that is an integer becomes an integral Scalar, so int tensors stay int under type
// promotion (int64 * 3 is int64, as in PyTorch); any other number is a double.
at::Scalar scalarOf(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  double v = D(info, i);
  if (std::nearbyint(v) == v && std::fabs(v) <= 9007199254740992.0) return at::Scalar(static_cast<int64_t>(v));
  return at::Scalar(v);
}

// add/sub's alpha: ATen refuses a floating alpha for integer tensors, and every JS number arrives as a
// double, so an integral alpha goes in as an integer Scalar (int32.add(int32) must work).
at::Scalar alphaOf(const Napi::CallbackInfo& info, size_t i) {
  if (isNone(info, i)) return at::Scalar(int64_t{1});
  double a = D(info, i);
  if (std::nearbyint(a) == a && std::abs(a) <= 9007199254740992.0) return at::Scalar(static_cast<int64_t>(a));
  return at::Scalar(a);
}

using Fn = Napi::Value (*)(const Napi::CallbackInfo&);

// Every entry point goes through this: an ATen error becomes a JS Error carrying ATen's message.
template <Fn F>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

#define FN(name) Napi::Value name(const Napi::CallbackInfo& info)
#define ENV Napi::Env env = info.Env()
#define RET(expr) \
  ENV;            \
  return wrap(env, (expr))

// ---------------------------------------------------------------------------------------------- meta
// Tells V8 about a tensor's bytes, once: for tensors whose lifetime the garbage collector decides.
FN(reportExternal) {
  ENV;
  Handle* h = handleAt(info, 0);
  if (h->t.defined() && h->reported == 0 && h->bytes > 0) {
    h->reported = h->bytes;
    reportMemory(env, h->bytes);
  } else {
    reportMemory(env, 0);
  }
  return env.Undefined();
}
// V8's count of external bytes (this addon's reported tensors and anyone else's), after queued releases.
FN(externalMemory) {
  ENV;
  int64_t delta = -pendingRelease;
  pendingRelease = 0;
  return Napi::Number::New(env, static_cast<double>(Napi::MemoryManagement::AdjustExternalMemory(env, delta)));
}
FN(dispose) {
  ENV;
  Handle* h = handleAt(info, 0);
  if (h->t.defined()) {
    int64_t b = h->reported;
    h->t = at::Tensor();
    h->bytes = 0;
    h->reported = 0;
    reportMemory(env, -b);
  }
  return env.Undefined();
}
FN(isDisposed) { return Napi::Boolean::New(info.Env(), !handleAt(info, 0)->t.defined()); }
FN(shape) {
  ENV;
  auto s = T(info, 0).sizes();
  auto a = Napi::Array::New(env, s.size());
  for (size_t k = 0; k < s.size(); ++k) a.Set(static_cast<uint32_t>(k), Napi::Number::New(env, (double)s[k]));
  return a;
}
FN(strides) {
  ENV;
  auto s = T(info, 0).strides();
  auto a = Napi::Array::New(env, s.size());
  for (size_t k = 0; k < s.size(); ++k) a.Set(static_cast<uint32_t>(k), Napi::Number::New(env, (double)s[k]));
  return a;
}
FN(dtype) { return Napi::String::New(info.Env(), dtypeName(T(info, 0).scalar_type())); }
FN(device) { return Napi::String::New(info.Env(), T(info, 0).device().str()); }
FN(numel) { return Napi::Number::New(info.Env(), (double)T(info, 0).numel()); }
FN(isContiguous) { return Napi::Boolean::New(info.Env(), T(info, 0).is_contiguous(memoryFormat(info, 1))); }
FN(sameStorage) {
  return Napi::Boolean::New(info.Env(), T(info, 0).is_alias_of(T(info, 1)));
}
FN(item) {
  ENV;
  const at::Tensor& t = T(info, 0);
  if (t.numel() != 1)
    fail(env, "item() needs a tensor with one element, this one has " + std::to_string(t.numel()));
  if (t.scalar_type() == at::kBool) return Napi::Boolean::New(env, t.item<bool>());
  return Napi::Number::New(env, t.item<double>());
}

// --------------------------------------------------------------------------------------- data in/out
FN(fromBuffer) {
  ENV;
  if (!info[0].IsTypedArray()) fail(env, "fromBuffer: expected a typed array");
  auto ta = info[0].As<Napi::TypedArray>();
  auto shape = IL(info, 1);
  at::ScalarType st = DT(info, 2);
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st));
  size_t need = t.nbytes();
  if (ta.ByteLength() != need)
    fail(env, "fromBuffer: " + std::to_string(ta.ByteLength()) + " bytes given, shape and dtype need " +
                  std::to_string(need));
  auto* src = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (need) std::memcpy(t.data_ptr(), src, need);
  return wrap(env, t);
}
FN(toBuffer) {
  ENV;
  at::Tensor t = T(info, 0).detach().to(at::kCPU).contiguous();
  auto ab = Napi::ArrayBuffer::New(env, t.nbytes());
  if (t.nbytes()) std::memcpy(ab.Data(), t.data_ptr(), t.nbytes());
  return ab;
}

// ------------------------------------------------------------------------------------------ creation
FN(empty) { RET(at::empty(IL(info, 0), opts(info, 1))); }
FN(zeros) { RET(at::zeros(IL(info, 0), opts(info, 1))); }
FN(ones) { RET(at::ones(IL(info, 0), opts(info, 1))); }
FN(full) { RET(at::full(IL(info, 0), scalarOf(info, 1), opts(info, 2))); }
FN(arange) { RET(at::arange(scalarOf(info, 0), scalarOf(info, 1), scalarOf(info, 2), opts(info, 3))); }
FN(linspace) { RET(at::linspace(scalarOf(info, 0), scalarOf(info, 1), I(info, 2), opts(info, 3))); }
FN(eye) { RET(at::eye(I(info, 0), I(info, 1), opts(info, 2))); }
FN(rand) { RET(at::rand(IL(info, 0), G(info, 2), opts(info, 1))); }
FN(randn) { RET(at::randn(IL(info, 0), G(info, 2), opts(info, 1))); }
FN(randint) { RET(at::randint(I(info, 0), I(info, 1), IL(info, 2), G(info, 4), opts(info, 3).dtype(DT(info, 3, at::kLong)))); }
FN(randperm) { RET(at::randperm(I(info, 0), G(info, 2), opts(info, 1).dtype(DT(info, 1, at::kLong)))); }
FN(bernoulli) { RET(at::bernoulli(T(info, 0), G(info, 1))); }
FN(uniform_) { T(info, 0).uniform_(D(info, 1), D(info, 2), G(info, 3)); return info[0]; }
FN(normal_) { T(info, 0).normal_(D(info, 1), D(info, 2), G(info, 3)); return info[0]; }
FN(zerosLike) { RET(at::zeros_like(T(info, 0))); }
FN(onesLike) { RET(at::ones_like(T(info, 0))); }
FN(fullLike) { RET(at::full_like(T(info, 0), scalarOf(info, 1))); }

FN(generatorNew) {
  ENV;
  auto* g = new GenHandle{kGenTag, at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(I(info, 0)))};
  return Napi::External<GenHandle>::New(env, g, [](Napi::BasicEnv, GenHandle* g) { delete g; });
}
FN(generatorState) {
  ENV;
  auto* g = genAt(info, 0);
  at::Tensor s;
  {
    std::lock_guard<std::mutex> lock(g->gen.mutex());
    s = g->gen.get_state();
  }
  return wrap(env, s);
}
FN(generatorSetState) {
  ENV;
  auto* g = genAt(info, 0);
  std::lock_guard<std::mutex> lock(g->gen.mutex());
  g->gen.set_state(T(info, 1));
  return env.Undefined();
}
FN(manualSeed) {
  ENV;
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(static_cast<uint64_t>(I(info, 0)));
  return env.Undefined();
}
FN(defaultGeneratorState) {
  ENV;
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return wrap(env, gen.get_state());
}
FN(defaultGeneratorSetState) {
  ENV;
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(T(info, 0));
  return env.Undefined();
}

// --------------------------------------------------------------------------------------------- shape
FN(reshape) { RET(at::reshape(T(info, 0), IL(info, 1))); }
FN(view) { RET(T(info, 0).view(IL(info, 1))); }
FN(permute) { RET(T(info, 0).permute(IL(info, 1))); }
FN(transpose) { RET(T(info, 0).transpose(I(info, 1), I(info, 2))); }
FN(contiguous) { RET(T(info, 0).contiguous(memoryFormat(info, 1))); }
FN(clone) { RET(T(info, 0).clone(isNone(info, 1) ? c10::optional<at::MemoryFormat>() : memoryFormat(info, 1))); }
FN(toDtype) { RET(T(info, 0).to(DT(info, 1))); }
FN(narrow) { RET(T(info, 0).narrow(I(info, 1), I(info, 2), I(info, 3))); }
FN(slice) { RET(T(info, 0).slice(I(info, 1), OI(info, 2), OI(info, 3), I(info, 4))); }
FN(select) { RET(T(info, 0).select(I(info, 1), I(info, 2))); }
FN(cat) { RET(at::cat(TL(info, 0), I(info, 1))); }
FN(stack) { RET(at::stack(TL(info, 0), I(info, 1))); }
FN(split) {
  ENV;
  if (info[1].IsArray()) return list(env, at::split_with_sizes(T(info, 0), IL(info, 1), I(info, 2)));
  return list(env, at::split(T(info, 0), I(info, 1), I(info, 2)));
}
FN(chunk) { ENV; return list(env, at::chunk(T(info, 0), I(info, 1), I(info, 2))); }
FN(squeeze) { RET(isNone(info, 1) ? T(info, 0).squeeze() : T(info, 0).squeeze(I(info, 1))); }
FN(unsqueeze) { RET(T(info, 0).unsqueeze(I(info, 1))); }
FN(expand) { RET(T(info, 0).expand(IL(info, 1))); }
FN(flatten) { RET(T(info, 0).flatten(I(info, 1), I(info, 2))); }
FN(indexSelect) { RET(at::index_select(T(info, 0), I(info, 1), T(info, 2))); }
FN(gather) { RET(at::gather(T(info, 0), I(info, 1), T(info, 2))); }
FN(scatter) { RET(at::scatter(T(info, 0), I(info, 1), T(info, 2), T(info, 3))); }
FN(scatterAdd) { RET(at::scatter_add(T(info, 0), I(info, 1), T(info, 2), T(info, 3))); }
FN(maskedFill) { RET(at::masked_fill(T(info, 0), T(info, 1), scalarOf(info, 2))); }
FN(maskedSelect) { RET(at::masked_select(T(info, 0), T(info, 1))); }
FN(constantPad) { RET(at::constant_pad_nd(T(info, 0), IL(info, 1), scalarOf(info, 2))); }
FN(reflectionPad2d) { RET(at::reflection_pad2d(T(info, 0), IL(info, 1))); }
FN(replicationPad2d) { RET(at::replication_pad2d(T(info, 0), IL(info, 1))); }
// im2col, PyTorch's F.unfold: (N, C, H, W) -> (N, C*kh*kw, L)
FN(im2col) { RET(at::im2col(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), IL(info, 4))); }
FN(col2im) { RET(at::col2im(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), IL(info, 4), IL(info, 5))); }
FN(tril) { RET(at::tril(T(info, 0), I(info, 1))); }
FN(triu) { RET(at::triu(T(info, 0), I(info, 1))); }
FN(diag) { RET(at::diag(T(info, 0), I(info, 1))); }
FN(diagonal) { RET(at::diagonal(T(info, 0), I(info, 1), I(info, 2), I(info, 3))); }
FN(flip) { RET(at::flip(T(info, 0), IL(info, 1))); }
FN(roll) { RET(at::roll(T(info, 0), IL(info, 1), IL(info, 2))); }
FN(repeat) { RET(T(info, 0).repeat(IL(info, 1))); }
FN(nonzero) { RET(at::nonzero(T(info, 0))); }
FN(unique) {
  ENV;
  auto r = at::_unique2(T(info, 0), /*sorted=*/true, /*return_inverse=*/false, /*return_counts=*/B(info, 1));
  auto a = Napi::Array::New(env, 2);
  a.Set(0u, wrap(env, std::get<0>(r)));
  a.Set(1u, B(info, 1) ? wrap(env, std::get<2>(r)) : env.Null());
  return a;
}

// ----------------------------------------------------------------------------------------------- math
// Binary ops accept a Tensor or a number for the second operand, as PyTorch does.
#define BINARY(name, call)                                                              \
  FN(name) {                                                                            \
    ENV;                                                                                \
    const at::Tensor& a = T(info, 0);                                                   \
    if (info[1].IsNumber() || info[1].IsBoolean()) return wrap(env, call(a, scalarOf(info, 1))); \
    return wrap(env, call(a, T(info, 1)));                                              \
  }
FN(add) {
  ENV;
  at::Scalar alpha = alphaOf(info, 2);
  if (info[1].IsNumber()) return wrap(env, at::add(T(info, 0), scalarOf(info, 1), alpha));
  return wrap(env, at::add(T(info, 0), T(info, 1), alpha));
}
FN(sub) {
  ENV;
  at::Scalar alpha = alphaOf(info, 2);
  if (info[1].IsNumber()) return wrap(env, at::sub(T(info, 0), scalarOf(info, 1), alpha));
  return wrap(env, at::sub(T(info, 0), T(info, 1), alpha));
}
BINARY(mul, at::mul)
BINARY(div, at::div)
BINARY(pow, at::pow)
BINARY(remainder, at::remainder)
BINARY(eq, at::eq)
BINARY(ne, at::ne)
BINARY(lt, at::lt)
BINARY(le, at::le)
BINARY(gt, at::gt)
BINARY(ge, at::ge)
FN(rsub) { RET(at::rsub(T(info, 0), scalarOf(info, 1))); }
FN(maximum) { RET(at::maximum(T(info, 0), T(info, 1))); }
FN(minimum) { RET(at::minimum(T(info, 0), T(info, 1))); }
FN(logicalAnd) { RET(at::logical_and(T(info, 0), T(info, 1))); }
FN(logicalOr) { RET(at::logical_or(T(info, 0), T(info, 1))); }
FN(logicalNot) { RET(at::logical_not(T(info, 0))); }
FN(where) {
  ENV;
  const at::Tensor& c = T(info, 0);
  bool an = info[1].IsNumber(), bn = info[2].IsNumber();
  if (an && bn) return wrap(env, at::where(c, scalarOf(info, 1), scalarOf(info, 2)));
  if (an) return wrap(env, at::where(c, scalarOf(info, 1), T(info, 2)));
  if (bn) return wrap(env, at::where(c, T(info, 1), scalarOf(info, 2)));
  return wrap(env, at::where(c, T(info, 1), T(info, 2)));
}
FN(clamp) {
  ENV;
  const at::Tensor& x = T(info, 0);
  if ((!isNone(info, 1) && info[1].IsExternal()) || (!isNone(info, 2) && info[2].IsExternal()))
    return wrap(env, at::clamp(x, OT(info, 1), OT(info, 2)));
  c10::optional<at::Scalar> lo, hi;
  if (!isNone(info, 1)) lo = scalarOf(info, 1);
  if (!isNone(info, 2)) hi = scalarOf(info, 2);
  return wrap(env, at::clamp(x, lo, hi));
}
#define UNARY(name, call) \
  FN(name) { RET(call(T(info, 0))); }
UNARY(neg, at::neg)
UNARY(round, at::round)
UNARY(floor, at::floor)
UNARY(ceil, at::ceil)
UNARY(trunc, at::trunc)
UNARY(sign, at::sign)
UNARY(abs, at::abs)
UNARY(exp, at::exp)
UNARY(log, at::log)
UNARY(log2, at::log2)
UNARY(sqrt, at::sqrt)
UNARY(rsqrt, at::rsqrt)
UNARY(square, at::square)
UNARY(reciprocal, at::reciprocal)
UNARY(tanh, at::tanh)
UNARY(sigmoid, at::sigmoid)
UNARY(sin, at::sin)
UNARY(cos, at::cos)
UNARY(relu, at::relu)
UNARY(isnan, at::isnan)
UNARY(isfinite, at::isfinite)
UNARY(t, at::t)

// -------------------------------------------------------------------------------------- reductions
// dims: undefined/null reduces over everything.
FN(sum) {
  ENV;
  const at::Tensor& x = T(info, 0);
  if (isNone(info, 1)) return wrap(env, at::sum(x));
  return wrap(env, at::sum(x, IL(info, 1), B(info, 2)));
}
FN(mean) {
  ENV;
  const at::Tensor& x = T(info, 0);
  if (isNone(info, 1)) return wrap(env, at::mean(x));
  return wrap(env, at::mean(x, IL(info, 1), B(info, 2)));
}
FN(amax) { RET(at::amax(T(info, 0), isNone(info, 1) ? std::vector<int64_t>{} : IL(info, 1), B(info, 2))); }
FN(amin) { RET(at::amin(T(info, 0), isNone(info, 1) ? std::vector<int64_t>{} : IL(info, 1), B(info, 2))); }
FN(maxDim) { ENV; return pair(env, at::max(T(info, 0), I(info, 1), B(info, 2))); }
FN(minDim) { ENV; return pair(env, at::min(T(info, 0), I(info, 1), B(info, 2))); }
FN(argmax) { RET(at::argmax(T(info, 0), OI(info, 1), B(info, 2))); }
FN(argmin) { RET(at::argmin(T(info, 0), OI(info, 1), B(info, 2))); }
FN(var) {
  ENV;
  const at::Tensor& x = T(info, 0);
  bool unbiased = isNone(info, 2) ? true : B(info, 2);
  if (isNone(info, 1)) return wrap(env, at::var(x, unbiased));
  return wrap(env, at::var(x, at::IntArrayRef(IL(info, 1)), unbiased, B(info, 3)));
}
FN(std_) {
  ENV;
  const at::Tensor& x = T(info, 0);
  bool unbiased = isNone(info, 2) ? true : B(info, 2);
  if (isNone(info, 1)) return wrap(env, at::std(x, unbiased));
  return wrap(env, at::std(x, at::IntArrayRef(IL(info, 1)), unbiased, B(info, 3)));
}
FN(norm) {
  ENV;
  const at::Tensor& x = T(info, 0);
  at::Scalar p = isNone(info, 1) ? at::Scalar(2.0) : scalarOf(info, 1);
  if (isNone(info, 2)) return wrap(env, at::norm(x, p));
  return wrap(env, at::norm(x, p, IL(info, 2), B(info, 3)));
}
FN(prod) { RET(isNone(info, 1) ? at::prod(T(info, 0)) : at::prod(T(info, 0), I(info, 1), B(info, 2))); }
FN(cumsum) { RET(at::cumsum(T(info, 0), I(info, 1))); }
FN(all) { RET(at::all(T(info, 0))); }
FN(any) { RET(at::any(T(info, 0))); }
FN(sort) { ENV; return pair(env, at::sort(T(info, 0), I(info, 1), B(info, 2))); }
FN(argsort) { RET(at::argsort(T(info, 0), I(info, 1), B(info, 2))); }
FN(topk) { ENV; return pair(env, at::topk(T(info, 0), I(info, 1), I(info, 2), B(info, 3), B(info, 4))); }
FN(quantile) {
  ENV;
  const at::Tensor& x = T(info, 0);
  double q = D(info, 1);
  return wrap(env, at::quantile(x, q, OI(info, 2), B(info, 3)));
}
FN(median) {
  ENV;
  if (isNone(info, 1)) return wrap(env, at::median(T(info, 0)));
  return pair(env, at::median(T(info, 0), I(info, 1), B(info, 2)));
}
FN(equal) { return Napi::Boolean::New(info.Env(), at::equal(T(info, 0), T(info, 1))); }
FN(allclose) {
  return Napi::Boolean::New(info.Env(), at::allclose(T(info, 0), T(info, 1), D(info, 2), D(info, 3)));
}

// --------------------------------------------------------------------------------- linear algebra
FN(matmul) { RET(at::matmul(T(info, 0), T(info, 1))); }
FN(mm) { RET(at::mm(T(info, 0), T(info, 1))); }
FN(bmm) { RET(at::bmm(T(info, 0), T(info, 1))); }
FN(addmm) { RET(at::addmm(T(info, 0), T(info, 1), T(info, 2), scalarOf(info, 3), scalarOf(info, 4))); }
FN(outer) { RET(at::outer(T(info, 0), T(info, 1))); }
FN(dot) { RET(at::dot(T(info, 0), T(info, 1))); }
FN(cholesky) { RET(at::linalg_cholesky(T(info, 0), B(info, 1))); }
FN(solveTriangular) {
  RET(at::linalg_solve_triangular(T(info, 0), T(info, 1), B(info, 2), isNone(info, 3) ? true : B(info, 3), B(info, 4)));
}
FN(inverse) { RET(at::linalg_inv(T(info, 0))); }

// ---------------------------------------------------------------------------------- nn functional
FN(conv2d) {
  RET(at::conv2d(T(info, 0), T(info, 1), OT(info, 2), IL(info, 3), IL(info, 4), IL(info, 5), I(info, 6)));
}
FN(linear) { RET(at::linear(T(info, 0), T(info, 1), OT(info, 2))); }
FN(maxPool2d) { RET(at::max_pool2d(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), IL(info, 4), B(info, 5))); }
FN(avgPool2d) {
  RET(at::avg_pool2d(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), B(info, 4), B(info, 5)));
}
FN(adaptiveAvgPool2d) { RET(at::adaptive_avg_pool2d(T(info, 0), IL(info, 1))); }
FN(batchNorm) {
  RET(at::batch_norm(T(info, 0), OT(info, 1), OT(info, 2), OT(info, 3), OT(info, 4), B(info, 5), D(info, 6),
                     D(info, 7), /*cudnn_enabled=*/true));
}
FN(hardtanh) { RET(at::hardtanh(T(info, 0), scalarOf(info, 1), scalarOf(info, 2))); }
FN(clipGridErrors) { RET(lowbit::clipGridErrors(T(info, 0), T(info, 1), I(info, 2), info[3].As<Napi::Number>().DoubleValue(), info[4].As<Napi::Number>().DoubleValue(), info[5].As<Napi::Number>().DoubleValue())); }
FN(sawbFakeQuant) { RET(lowbit::sawbFakeQuant(T(info, 0), info[1].As<Napi::Number>().DoubleValue(), info[2].As<Napi::Number>().DoubleValue(), info[3].As<Napi::Number>().Int64Value())); }
FN(pactFakeQuant) { RET(lowbit::pactFakeQuant(T(info, 0), T(info, 1), info[2].As<Napi::Number>().Int64Value())); }
FN(leakyRelu) { RET(at::leaky_relu(T(info, 0), scalarOf(info, 1))); }
FN(logSoftmax) { RET(at::log_softmax(T(info, 0), I(info, 1))); }
FN(softmax) { RET(at::softmax(T(info, 0), I(info, 1))); }
// reduction: 0 none, 1 mean, 2 sum (at::Reduction)
FN(crossEntropy) {
  RET(at::cross_entropy_loss(T(info, 0), T(info, 1), OT(info, 2), I(info, 3), I(info, 4), D(info, 5)));
}
FN(nllLoss) { RET(at::nll_loss(T(info, 0), T(info, 1), OT(info, 2), I(info, 3), I(info, 4))); }
FN(klDiv) { RET(at::kl_div(T(info, 0), T(info, 1), I(info, 2), B(info, 3))); }
FN(mseLoss) { RET(at::mse_loss(T(info, 0), T(info, 1), I(info, 2))); }
FN(dropout) { RET(at::dropout(T(info, 0), D(info, 1), B(info, 2))); }
FN(oneHot) { RET(at::one_hot(T(info, 0), I(info, 1))); }

// ------------------------------------------------------------------------------------------ in place
// In-place ops return their first argument (the same External), as PyTorch returns self.
#define INPLACE_BINARY(name, method)                                                     \
  FN(name) {                                                                             \
    at::Tensor x = T(info, 0);                                                           \
    if (info[1].IsNumber()) x.method(scalarOf(info, 1));                                 \
    else x.method(T(info, 1));                                                           \
    return info[0];                                                                      \
  }
FN(add_) {
  at::Tensor x = T(info, 0);
  at::Scalar alpha = alphaOf(info, 2);
  if (info[1].IsNumber()) x.add_(scalarOf(info, 1), alpha);
  else x.add_(T(info, 1), alpha);
  return info[0];
}
INPLACE_BINARY(mul_, mul_)
INPLACE_BINARY(div_, div_)
INPLACE_BINARY(sub_, sub_)
FN(addcmul_) { at::Tensor x = T(info, 0); x.addcmul_(T(info, 1), T(info, 2), scalarOf(info, 3)); return info[0]; }
FN(addmm_) { at::Tensor x = T(info, 0); x.addmm_(T(info, 1), T(info, 2), scalarOf(info, 3), scalarOf(info, 4)); return info[0]; }
FN(addcdiv_) { at::Tensor x = T(info, 0); x.addcdiv_(T(info, 1), T(info, 2), scalarOf(info, 3)); return info[0]; }
FN(lerp_) { at::Tensor x = T(info, 0); x.lerp_(T(info, 1), scalarOf(info, 2)); return info[0]; }
FN(copy_) { at::Tensor x = T(info, 0); x.copy_(T(info, 1)); return info[0]; }
// param.data = other (PyTorch's Module.to(memory_format) path): same autograd leaf, new storage/layout.
FN(setData) { at::Tensor x = T(info, 0); x.set_data(T(info, 1)); return info[0]; }
FN(zero_) { at::Tensor x = T(info, 0); x.zero_(); return info[0]; }
FN(fill_) { at::Tensor x = T(info, 0); x.fill_(scalarOf(info, 1)); return info[0]; }
FN(sqrt_) { at::Tensor x = T(info, 0); x.sqrt_(); return info[0]; }
FN(clamp_) {
  at::Tensor x = T(info, 0);
  c10::optional<at::Scalar> lo, hi;
  if (!isNone(info, 1)) lo = scalarOf(info, 1);
  if (!isNone(info, 2)) hi = scalarOf(info, 2);
  x.clamp_(lo, hi);
  return info[0];
}

// ----------------------------------------------------------------------------------------- autograd
FN(requiresGrad) { return Napi::Boolean::New(info.Env(), T(info, 0).requires_grad()); }
FN(setRequiresGrad) { at::Tensor x = T(info, 0); x.requires_grad_(B(info, 1)); return info[0]; }
FN(isLeaf) { return Napi::Boolean::New(info.Env(), T(info, 0).is_leaf()); }
FN(grad) { RET(T(info, 0).grad()); }
FN(setGrad) {
  ENV;
  at::Tensor x = T(info, 0);
  if (isNone(info, 1)) x.mutable_grad() = at::Tensor();
  else x.mutable_grad() = T(info, 1);
  return env.Undefined();
}
FN(retainGrad) { at::Tensor x = T(info, 0); x.retain_grad(); return info[0]; }
FN(detach) { RET(T(info, 0).detach()); }
FN(backward) {
  ENV;
  at::Tensor x = T(info, 0);
  c10::optional<at::Tensor> g = OT(info, 1);
  x.backward(g.has_value() ? *g : at::Tensor(), B(info, 2) ? c10::optional<bool>(true) : c10::nullopt, B(info, 3));
  return env.Undefined();
}
FN(autogradGrad) {
  ENV;
  auto outputs = TL(info, 0);
  auto inputs = TL(info, 1);
  std::vector<at::Tensor> gradOutputs;
  if (!isNone(info, 2)) gradOutputs = TL(info, 2);
  c10::optional<bool> retain;
  if (!isNone(info, 3)) retain = B(info, 3);
  auto grads = torch::autograd::grad(outputs, inputs, gradOutputs, retain, B(info, 4), B(info, 5));
  return list(env, grads);
}
FN(setGradEnabled) {
  ENV;
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(B(info, 0));
  return Napi::Boolean::New(env, prev);
}
FN(isGradEnabled) { return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled()); }

// -------------------------------------------------------------------------------------------- system
FN(setNumThreads) {
  ENV;
  int64_t n = I(info, 0);
  if (n < 1) fail(env, "setNumThreads: need at least 1 thread, got " + std::to_string(n));
  at::set_num_threads(static_cast<int>(n));
  return env.Undefined();
}
FN(getNumThreads) { return Napi::Number::New(info.Env(), at::get_num_threads()); }
FN(buildInfo) {
  ENV;
  auto o = Napi::Object::New(env);
  o.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  o.Set("config", Napi::String::New(env, at::show_config()));
  o.Set("parallel", Napi::String::New(env, at::get_parallel_info()));
  o.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
  return o;
}

// glibc's mallopt(), by name. The values are chosen in src/tensor/system.ts; false where the option
// is rejected or the C library is not glibc.
FN(mallocOption) {
  ENV;
  std::string name = S(info, 0);
  int64_t value = I(info, 1);
#if defined(__GLIBC__)
  int param;
  if (name == "mmapThreshold") param = M_MMAP_THRESHOLD;
  else if (name == "trimThreshold") param = M_TRIM_THRESHOLD;
  else if (name == "topPad") param = M_TOP_PAD;
  else fail(env, "mallocOption: unknown option '" + name + "': use mmapThreshold, trimThreshold or topPad");
  if (value < 0 || value > INT32_MAX) fail(env, "mallocOption: " + name + " must be in [0, 2^31), got " + std::to_string(value));
  return Napi::Boolean::New(env, ::mallopt(param, static_cast<int>(value)) == 1);
#else
  return Napi::Boolean::New(env, false);
#endif
}

// lowbit's CPU allocator (cpu-allocator.cc) for every later ATen allocation; src/tensor/system.ts
// installs it at load unless LOWBIT_MALLOC=default.
FN(installCpuAllocator) {
  lowbit::installCpuAllocator();
  return info.Env().Undefined();
}
FN(cpuAllocatorStats) {
  ENV;
  const lowbit::CpuAllocatorStats s = lowbit::cpuAllocatorStats();
  auto o = Napi::Object::New(env);
  o.Set("installed", Napi::Boolean::New(env, lowbit::cpuAllocatorInstalled()));
  o.Set("liveBlocks", Napi::Number::New(env, static_cast<double>(s.liveBlocks)));
  o.Set("liveBytes", Napi::Number::New(env, static_cast<double>(s.liveBytes)));
  o.Set("totalAllocations", Napi::Number::New(env, static_cast<double>(s.totalAllocations)));
  o.Set("cachedBlocks", Napi::Number::New(env, static_cast<double>(s.cachedBlocks)));
  o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(s.cachedBytes)));
  return o;
}
FN(releaseCachedBlocks) {
  lowbit::releaseCachedBlocks();
  return info.Env().Undefined();
}

#define EXPORT(name) exports.Set(#name, Napi::Function::New(env, guarded<name>, #name))

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  EXPORT(installCpuAllocator); EXPORT(cpuAllocatorStats); EXPORT(releaseCachedBlocks);
  EXPORT(dispose); EXPORT(reportExternal); EXPORT(externalMemory); EXPORT(isDisposed); EXPORT(shape); EXPORT(strides); EXPORT(dtype); EXPORT(device);
  EXPORT(numel); EXPORT(isContiguous); EXPORT(sameStorage); EXPORT(item);
  EXPORT(fromBuffer); EXPORT(toBuffer);
  EXPORT(empty); EXPORT(zeros); EXPORT(ones); EXPORT(full); EXPORT(arange); EXPORT(linspace); EXPORT(eye);
  EXPORT(rand); EXPORT(randn); EXPORT(randint); EXPORT(randperm); EXPORT(bernoulli); EXPORT(uniform_);
  EXPORT(normal_); EXPORT(zerosLike); EXPORT(onesLike); EXPORT(fullLike);
  EXPORT(generatorNew); EXPORT(generatorState); EXPORT(generatorSetState); EXPORT(manualSeed);
  EXPORT(defaultGeneratorState); EXPORT(defaultGeneratorSetState);
  EXPORT(reshape); EXPORT(view); EXPORT(permute); EXPORT(transpose); EXPORT(contiguous); EXPORT(clone);
  EXPORT(toDtype); EXPORT(narrow); EXPORT(slice); EXPORT(select); EXPORT(cat); EXPORT(stack); EXPORT(split);
  EXPORT(chunk); EXPORT(squeeze); EXPORT(unsqueeze); EXPORT(expand); EXPORT(flatten); EXPORT(indexSelect);
  EXPORT(gather); EXPORT(scatter); EXPORT(scatterAdd); EXPORT(maskedFill); EXPORT(maskedSelect);
  EXPORT(constantPad); EXPORT(reflectionPad2d); EXPORT(replicationPad2d); EXPORT(im2col); EXPORT(col2im);
  EXPORT(tril); EXPORT(triu); EXPORT(diag); EXPORT(diagonal); EXPORT(flip); EXPORT(roll); EXPORT(repeat);
  EXPORT(nonzero); EXPORT(unique);
  EXPORT(add); EXPORT(sub); EXPORT(mul); EXPORT(div); EXPORT(pow); EXPORT(remainder); EXPORT(eq); EXPORT(ne);
  EXPORT(lt); EXPORT(le); EXPORT(gt); EXPORT(ge); EXPORT(rsub); EXPORT(maximum); EXPORT(minimum);
  EXPORT(logicalAnd); EXPORT(logicalOr); EXPORT(logicalNot); EXPORT(where); EXPORT(clamp);
  EXPORT(neg); EXPORT(round); EXPORT(floor); EXPORT(ceil); EXPORT(trunc); EXPORT(sign); EXPORT(abs);
  EXPORT(exp); EXPORT(log); EXPORT(log2); EXPORT(sqrt); EXPORT(rsqrt); EXPORT(square); EXPORT(reciprocal);
  EXPORT(tanh); EXPORT(sigmoid); EXPORT(sin); EXPORT(cos); EXPORT(relu); EXPORT(pactFakeQuant); EXPORT(sawbFakeQuant); EXPORT(clipGridErrors); EXPORT(isnan); EXPORT(isfinite);
  EXPORT(t);
  EXPORT(sum); EXPORT(mean); EXPORT(amax); EXPORT(amin); EXPORT(maxDim); EXPORT(minDim); EXPORT(argmax);
  EXPORT(argmin); EXPORT(var); EXPORT(std_); EXPORT(norm); EXPORT(prod); EXPORT(cumsum); EXPORT(all);
  EXPORT(any); EXPORT(sort); EXPORT(argsort); EXPORT(topk); EXPORT(quantile); EXPORT(median); EXPORT(equal);
  EXPORT(allclose);
  EXPORT(matmul); EXPORT(mm); EXPORT(bmm); EXPORT(addmm); EXPORT(outer); EXPORT(dot); EXPORT(cholesky);
  EXPORT(solveTriangular); EXPORT(inverse);
  EXPORT(conv2d); EXPORT(linear); EXPORT(maxPool2d); EXPORT(avgPool2d); EXPORT(adaptiveAvgPool2d);
  EXPORT(batchNorm); EXPORT(hardtanh); EXPORT(leakyRelu); EXPORT(logSoftmax); EXPORT(softmax);
  EXPORT(crossEntropy); EXPORT(nllLoss); EXPORT(klDiv); EXPORT(mseLoss); EXPORT(dropout); EXPORT(oneHot);
  EXPORT(add_); EXPORT(mul_); EXPORT(div_); EXPORT(sub_); EXPORT(addcmul_); EXPORT(addmm_); EXPORT(addcdiv_); EXPORT(lerp_);
  EXPORT(copy_); EXPORT(setData); EXPORT(zero_); EXPORT(fill_); EXPORT(sqrt_); EXPORT(clamp_);
  EXPORT(requiresGrad); EXPORT(setRequiresGrad); EXPORT(isLeaf); EXPORT(grad); EXPORT(setGrad);
  EXPORT(retainGrad); EXPORT(detach); EXPORT(backward); EXPORT(autogradGrad); EXPORT(setGradEnabled);
  EXPORT(isGradEnabled);
  EXPORT(setNumThreads); EXPORT(getNumThreads); EXPORT(buildInfo); EXPORT(mallocOption);
  return exports;
}

}  // namespace

NODE_API_MODULE(lowbit_native, Init)
