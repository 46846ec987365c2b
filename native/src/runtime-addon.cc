// Node-API face of the low-bit runtime (a separate addon, lowbit_runtime.node, without libtorch).
// Plain data in, plain data out: src/runtime builds the plan and owns every choice.
#include <napi.h>

#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "runtime-plan.h"

namespace {

using lowbit::rt::Plan;

Plan* planOf(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "runtime: expected a plan handle");
  return v.As<Napi::External<Plan>>().Data();
}

int intField(const Napi::Object& o, const char* k, int dflt) {
  const Napi::Value v = o.Get(k);
  return v.IsUndefined() ? dflt : v.As<Napi::Number>().Int32Value();
}
float floatField(const Napi::Object& o, const char* k, float dflt) {
  const Napi::Value v = o.Get(k);
  return v.IsUndefined() ? dflt : v.As<Napi::Number>().FloatValue();
}
std::vector<float> floats(const Napi::Object& o, const char* k) {
  const Napi::Value v = o.Get(k);
  if (v.IsUndefined() || v.IsNull()) return {};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(o.Env(), std::string("runtime: '") + k + "' must be a Float32Array");
  }
  auto a = v.As<Napi::Float32Array>();
  return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}

template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F f) {
  try {
    return f();
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

lowbit::rt::Isa isaByName(const std::string& name) {
  for (auto isa : {lowbit::rt::Isa::Portable, lowbit::rt::Isa::Avx2, lowbit::rt::Isa::AvxVnni, lowbit::rt::Isa::Avx512Vnni})
    if (name == lowbit::rt::isaName(isa)) {
      if (!lowbit::rt::isaAvailable(isa)) throw std::runtime_error("instruction set " + name + " is not available on this CPU");
      return isa;
    }
  throw std::runtime_error("unknown instruction set '" + name + "'; choose portable, avx2, avxvnni or avx512vnni");
}

// The default thread count of new plans: all processors unless setThreads says otherwise.
int defaultThreads() {
#ifdef _OPENMP
  return omp_get_num_procs();
#else
  return 1;
#endif
}
int threadsSetting = 0;

Napi::Value runtimeInfo(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto env = info.Env();
    auto o = Napi::Object::New(env);
    o.Set("isa", lowbit::rt::isaName(lowbit::rt::selectIsa()));
    auto avail = Napi::Array::New(env);
    uint32_t k = 0;
    for (auto isa : {lowbit::rt::Isa::Portable, lowbit::rt::Isa::Avx2, lowbit::rt::Isa::AvxVnni, lowbit::rt::Isa::Avx512Vnni})
      if (lowbit::rt::isaAvailable(isa)) avail.Set(k++, lowbit::rt::isaName(isa));
    o.Set("available", avail);
    o.Set("threads", threadsSetting > 0 ? threadsSetting : defaultThreads());
    return o;
  });
}

Napi::Value setThreads(const Napi::CallbackInfo& info) {
  threadsSetting = info[0].As<Napi::Number>().Int32Value();
  return info.Env().Undefined();
}

// planCreate(isa?: string): the ISA the environment selects, or the one named.
Napi::Value planCreate(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto isa = info.Length() > 0 && info[0].IsString() ? isaByName(info[0].As<Napi::String>().Utf8Value()) : lowbit::rt::selectIsa();
    auto* plan = new Plan(isa);
    plan->setThreading(threadsSetting > 0 ? threadsSetting : defaultThreads(), 0);
    return Napi::External<Plan>::New(info.Env(), plan, [](Napi::Env, Plan* p) { delete p; });
  });
}

// planSetThreading(plan, threads, minParallelMacs)
Napi::Value planSetThreading(const Napi::CallbackInfo& info) {
  planOf(info[0])->setThreading(info[1].As<Napi::Number>().Int32Value(), info[2].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

Napi::Value planIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), lowbit::rt::isaName(planOf(info[0])->isa()));
}

Napi::Value planAddBuffer(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto o = info[1].As<Napi::Object>();
    lowbit::rt::BufferSpec b;
    b.codes = o.Get("kind").As<Napi::String>().Utf8Value() == "codes";
    b.h = intField(o, "h", 0);
    b.w = intField(o, "w", 0);
    b.c = intField(o, "c", 0);
    b.border = intField(o, "border", 0);
    return Napi::Number::New(info.Env(), planOf(info[0])->addBuffer(b));
  });
}

Napi::Value planAddConv(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto o = info[1].As<Napi::Object>();
    lowbit::rt::ConvSpec s;
    s.in = intField(o, "input", -1);
    s.residual = intField(o, "residual", -1);
    s.outFloat = intField(o, "outFloat", -1);
    s.oc = intField(o, "outChannels", 0);
    s.kh = intField(o, "kernelH", 0);
    s.kw = intField(o, "kernelW", 0);
    s.stride = intField(o, "stride", 1);
    s.pad = intField(o, "pad", 0);
    s.bits = intField(o, "bits", 8);
    s.codeStep = intField(o, "codeStep", 1);
    s.oddOnes = o.Get("oddOnes").ToBoolean();
    s.inMax = intField(o, "inMax", 255);
    s.relu = o.Get("relu").ToBoolean();
    auto packed = o.Get("packed").As<Napi::Uint8Array>();
    s.packed.assign(packed.Data(), packed.Data() + packed.ElementLength());
    s.mul = floats(o, "mul");
    s.add = floats(o, "add");
    s.posBias = floats(o, "posBias");
    const Napi::Value codes = o.Get("codes");
    if (codes.IsArray()) {
      auto arr = codes.As<Napi::Array>();
      if (arr.Length() > 2) throw std::runtime_error("conv: at most two code outputs");
      s.numCodes = static_cast<int>(arr.Length());
      for (uint32_t q = 0; q < arr.Length(); q++) {
        auto c = arr.Get(q).As<Napi::Object>();
        s.outCodes[q] = intField(c, "buffer", -1);
        s.codeScale[q] = floatField(c, "scale", 1.f);
        s.codeAlpha[q] = floatField(c, "alpha", 1.f);
        s.codeLevels[q] = floatField(c, "levels", 1.f);
      }
    }
    return Napi::Number::New(info.Env(), planOf(info[0])->addConv(std::move(s)));
  });
}

Napi::Value planAddPoolQuant(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto o = info[1].As<Napi::Object>();
    lowbit::rt::PoolQuantSpec s;
    s.in = intField(o, "input", -1);
    s.out = intField(o, "output", -1);
    s.scale = floatField(o, "scale", 1.f);
    s.alpha = floatField(o, "alpha", 1.f);
    s.levels = floatField(o, "levels", 255.f);
    return Napi::Number::New(info.Env(), planOf(info[0])->addPoolQuant(s));
  });
}

// planRun(plan, pixels: Uint8Array, n, inputBuffer, outputBuffer, chunk): the output of n images.
Napi::Value planRun(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Plan* p = planOf(info[0]);
    auto px = info[1].As<Napi::Uint8Array>();
    const int64_t n = info[2].As<Napi::Number>().Int64Value();
    const int input = info[3].As<Napi::Number>().Int32Value();
    const auto& b = p->buffer(input);
    if (static_cast<int64_t>(px.ElementLength()) < n * b.h * b.w * b.c) throw std::runtime_error("run: the pixel array holds fewer than n images");
    const int output = info[4].As<Napi::Number>().Int32Value();
    const int64_t chunk = info[5].As<Napi::Number>().Int64Value();
    const auto v = p->run(px.Data(), n, input, output, chunk);
    auto out = Napi::Float32Array::New(info.Env(), v.size());
    std::copy(v.begin(), v.end(), out.Data());
    return out;
  });
}

Napi::Value planRead(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Plan* p = planOf(info[0]);
    const int id = info[1].As<Napi::Number>().Int32Value();
    auto env = info.Env();
    if (p->buffer(id).codes) {
      const auto v = p->readCodes(id);
      auto out = Napi::Uint8Array::New(env, v.size());
      std::copy(v.begin(), v.end(), out.Data());
      return out;
    }
    const auto v = p->readFloats(id);
    auto out = Napi::Float32Array::New(env, v.size());
    std::copy(v.begin(), v.end(), out.Data());
    return out;
  });
}

Napi::Value planWeightBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(planOf(info[0])->weightBytes()));
}

// expandWeights(spec, inChannels): the kernel layout of one conv's packed weights, for tests.
Napi::Value expandWeights(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto o = info[0].As<Napi::Object>();
    lowbit::rt::ConvSpec s;
    s.oc = intField(o, "outChannels", 0);
    s.kh = intField(o, "kernelH", 0);
    s.kw = intField(o, "kernelW", 0);
    s.bits = intField(o, "bits", 8);
    s.codeStep = intField(o, "codeStep", 1);
    s.oddOnes = o.Get("oddOnes").ToBoolean();
    auto packed = o.Get("packed").As<Napi::Uint8Array>();
    s.packed.assign(packed.Data(), packed.Data() + packed.ElementLength());
    const auto e = lowbit::rt::expandWeights(s, info[1].As<Napi::Number>().Int32Value());
    auto env = info.Env();
    auto r = Napi::Object::New(env);
    auto data = Napi::Int8Array::New(env, e.data.size());
    std::copy(e.data.begin(), e.data.end(), data.Data());
    r.Set("data", data);
    r.Set("cp", e.cp);
    r.Set("ocp", e.ocp);
    return r;
  });
}

Napi::Value planProfile(const Napi::CallbackInfo& info) {
  Plan* p = planOf(info[0]);
  auto env = info.Env();
  const auto prof = p->profile();
  auto arr = Napi::Array::New(env, prof.size());
  for (size_t i = 0; i < prof.size(); i++) {
    auto o = Napi::Object::New(env);
    o.Set("macsPerImage", prof[i].macsPerImage);
    o.Set("seconds", prof[i].seconds);
    o.Set("images", static_cast<double>(prof[i].images));
    arr.Set(static_cast<uint32_t>(i), o);
  }
  if (info.Length() > 1 && info[1].ToBoolean()) p->resetProfile();
  return arr;
}

// peakMacsPerSecond(isa, seconds): one thread's dot-product peak (the roofline's ceiling).
Napi::Value peakMacs(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const auto isa = isaByName(info[0].As<Napi::String>().Utf8Value());
    return Napi::Number::New(info.Env(), lowbit::rt::peakMacsPerSecond(isa, info[1].As<Napi::Number>().DoubleValue()));
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("runtimeInfo", Napi::Function::New(env, runtimeInfo));
  exports.Set("setThreads", Napi::Function::New(env, setThreads));
  exports.Set("planCreate", Napi::Function::New(env, planCreate));
  exports.Set("planSetThreading", Napi::Function::New(env, planSetThreading));
  exports.Set("planIsa", Napi::Function::New(env, planIsa));
  exports.Set("planAddBuffer", Napi::Function::New(env, planAddBuffer));
  exports.Set("planAddConv", Napi::Function::New(env, planAddConv));
  exports.Set("planAddPoolQuant", Napi::Function::New(env, planAddPoolQuant));
  exports.Set("planRun", Napi::Function::New(env, planRun));
  exports.Set("planRead", Napi::Function::New(env, planRead));
  exports.Set("planWeightBytes", Napi::Function::New(env, planWeightBytes));
  exports.Set("expandWeights", Napi::Function::New(env, expandWeights));
  exports.Set("planProfile", Napi::Function::New(env, planProfile));
  exports.Set("peakMacsPerSecond", Napi::Function::New(env, peakMacs));
  return exports;
}

}  // namespace

NODE_API_MODULE(lowbit_runtime, Init)
