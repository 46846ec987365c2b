// bench/onednn/conv-int8: oneDNN's int8 convolution (u8 x s8 -> s32, Debian libdnnl 2.6.3) against
// the runtime's hand-written kernels (native/src/runtime-kernels.cc) on every conv shape of
// ResNet-20 at 28x28, in one process, one thread, interleaved. Built and run by run.sh.
//
// Both sides compute the same fused step, a middle layer's: acc = sum u8 x s8 in int32, then
// v = acc * mul[o] + add[o], and the next layer's PACT codes round(clip(v / s, 0, levels)) as u8.
// oneDNN: bias add/mul, output scales mul/s per channel, post-op eltwise_clip(0, levels), u8 dst
// (round to nearest even), NHWC src/dst, weights in the layout it picks ("any"), reordered once.
// A third side: oneDNN for the int32 accumulators only, then the runtime's own epilogue (exact).
// The hand-written side: codes with a zero border (padding needs no branch), weights expanded by
// expandWeights. Times: the best and the median of many calls (a shared machine descheduled some).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "../../native/src/runtime-plan.h"

using namespace lowbit::rt;

struct Shape {
  const char* name;
  int ic, oc, h, w, k, stride, pad, wbits, abits;
};

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <class F>
static void timeIt(F f, int minCalls, double minSeconds, double& best, double& median) {
  f();
  std::vector<double> t;
  const double t0 = now();
  while (static_cast<int>(t.size()) < minCalls || now() - t0 < minSeconds) {
    const double a = now();
    f();
    t.push_back(now() - a);
  }
  std::sort(t.begin(), t.end());
  best = t.front();
  median = t[t.size() / 2];
}

int main(int argc, char** argv) {
  const int bits = argc > 1 ? std::atoi(argv[1]) : 2;
  const Shape shapes[] = {
      {"stem 1->16 3x3 28", 1, 16, 28, 28, 3, 1, 1, 8, 8},
      {"stage1 16->16 3x3 28", 16, 16, 28, 28, 3, 1, 1, bits, bits},
      {"stage2 16->32 3x3 s2", 16, 32, 28, 28, 3, 2, 1, bits, bits},
      {"stage2 shortcut 1x1 s2", 16, 32, 28, 28, 1, 2, 0, bits, bits},
      {"stage2 32->32 3x3 14", 32, 32, 14, 14, 3, 1, 1, bits, bits},
      {"stage3 32->64 3x3 s2", 32, 64, 14, 14, 3, 2, 1, bits, bits},
      {"stage3 shortcut 1x1 s2", 32, 64, 14, 14, 1, 2, 0, bits, bits},
      {"stage3 64->64 3x3 7", 64, 64, 7, 7, 3, 1, 1, bits, bits},
      {"fc 64->10", 64, 10, 1, 1, 1, 1, 0, 8, 8},
  };
  const Isa isa = selectIsa();
  bool allExact = true;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  std::mt19937 rng(7);
  // The ISA's dot-product peak: the best 2 ms window of independent chains (as bench/runtime-roofline).
  double peak = 0;
  for (int i = 0; i < 300; i++) peak = std::max(peak, peakMacsPerSecond(isa, 0.002));
  std::printf("W%dA%d, hand-written ISA %s (peak %.0f G MAC/s), oneDNN %d.%d.%d, 1 thread\n", bits, bits, isaName(isa), peak / 1e9, dnnl_version()->major, dnnl_version()->minor, dnnl_version()->patch);
  std::printf("| batch | conv | M MACs | hand-written best us | oneDNN fused best us | / hand | oneDNN s32 + hand epilogue best us | / hand | same codes as hand | hand epilogue alone us | epilogue share | hand G MAC/s | hand GEMM part G MAC/s | GEMM part of peak | oneDNN kernel |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int n : {1, 64}) {
    for (const Shape& s : shapes) {
      const int oh = (s.h + 2 * s.pad - s.k) / s.stride + 1, ow = (s.w + 2 * s.pad - s.k) / s.stride + 1;
      const int levels = (1 << s.abits) - 1;
      const int wmax = (1 << (s.wbits - 1)) - 1;
      // Codes and weights, the same numbers for both sides.
      std::vector<uint8_t> x(static_cast<size_t>(n) * s.h * s.w * s.ic);
      for (auto& v : x) v = static_cast<uint8_t>(rng() % (levels + 1));
      std::vector<int8_t> wOihw(static_cast<size_t>(s.oc) * s.ic * s.k * s.k);
      for (auto& v : wOihw) v = static_cast<int8_t>(static_cast<int>(rng() % (2 * wmax + 1)) - wmax);
      std::vector<float> mul(s.oc), add(s.oc);
      for (int o = 0; o < s.oc; o++) {
        mul[o] = 0.00123f * (1 + o % 7);
        add[o] = 0.0137f * (o % 5);
      }
      const float codeScale = 0.0513f;
      const double macs = static_cast<double>(n) * oh * ow * s.oc * s.ic * s.k * s.k;

      // Hand-written: bordered NHWC codes, expanded weights, fused epilogue into bordered codes.
      ConvSpec cs;
      cs.oc = s.oc;
      cs.kh = s.k;
      cs.kw = s.k;
      cs.stride = s.stride;
      cs.pad = s.pad;
      cs.bits = 8;  // the packed width only matters on disk: expandWeights gives the same s8 layout
      cs.packed.assign(reinterpret_cast<const uint8_t*>(wOihw.data()), reinterpret_cast<const uint8_t*>(wOihw.data()) + wOihw.size());
      const ExpandedWeights ew = expandWeights(cs, s.ic);
      const int cp = ew.cp, b = s.pad, ocp4 = (s.oc + 3) / 4 * 4;
      std::vector<uint8_t> xb(static_cast<size_t>(n) * (s.h + 2 * b) * (s.w + 2 * b) * cp, 0);
      for (int i = 0; i < n; i++)
        for (int y = 0; y < s.h; y++)
          for (int xx = 0; xx < s.w; xx++)
            for (int c = 0; c < s.ic; c++)
              xb[((static_cast<size_t>(i) * (s.h + 2 * b) + y + b) * (s.w + 2 * b) + xx + b) * cp + c] = x[((static_cast<size_t>(i) * s.h + y) * s.w + xx) * s.ic + c];
      std::vector<uint8_t> yb(static_cast<size_t>(n) * (oh + 2) * (ow + 2) * ocp4, 0);
      ConvArgs a;
      a.in = xb.data();
      a.inH = s.h;
      a.inW = s.w;
      a.cp = cp;
      a.inBorder = b;
      a.kh = a.kw = s.k;
      a.stride = s.stride;
      a.pad = s.pad;
      a.oc = s.oc;
      a.ocp = ew.ocp;
      a.outH = oh;
      a.outW = ow;
      a.weights = ew.data.data();
      a.pairsFitInt16 = 2 * levels * ew.maxAbs <= 32767;
      a.mul = mul.data();
      a.add = add.data();
      a.relu = true;
      a.numCodes = 1;
      a.codes[0].data = yb.data();
      a.codes[0].cp = ocp4;
      a.codes[0].border = 1;
      a.codes[0].scale = codeScale;
      a.codes[0].alpha = codeScale * levels;
      a.codes[0].levels = static_cast<float>(levels);
      const int64_t rows = static_cast<int64_t>(n) * oh * ow;
      double handBest, handMedian;
      timeIt([&] { runConvRows(isa, a, 0, rows); }, 50, 0.3, handBest, handMedian);

      // oneDNN: the same step as one primitive with its int8 attributes.
      using tag = dnnl::memory::format_tag;
      using dt = dnnl::memory::data_type;
      const dnnl::memory::dims srcD = {n, s.ic, s.h, s.w}, wD = {s.oc, s.ic, s.k, s.k}, bD = {s.oc}, dD = {n, s.oc, oh, ow};
      auto srcMd = dnnl::memory::desc(srcD, dt::u8, tag::nhwc);
      auto dstMd = dnnl::memory::desc(dD, dt::u8, tag::nhwc);
      auto wAny = dnnl::memory::desc(wD, dt::s8, tag::any);
      auto bMd = dnnl::memory::desc(bD, dt::f32, tag::x);
      // int8 conv in oneDNN 2.x: dst = saturate(round(post_ops(oscale * (acc + bias)))).
      std::vector<float> oscale(s.oc), bias(s.oc);
      for (int o = 0; o < s.oc; o++) {
        oscale[o] = mul[o] / codeScale;
        bias[o] = add[o] / mul[o];
      }
      dnnl::primitive_attr attr;
      attr.set_output_scales(1 << 1, oscale);
      dnnl::post_ops po;
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, static_cast<float>(levels));
      attr.set_post_ops(po);
      auto desc = dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, srcMd, wAny, bMd, dstMd, {s.stride, s.stride}, {s.pad, s.pad}, {s.pad, s.pad});
      auto pd = dnnl::convolution_forward::primitive_desc(desc, attr, eng);
      dnnl::memory srcM(srcMd, eng, x.data());
      dnnl::memory wUser({wD, dt::s8, tag::oihw}, eng, wOihw.data());
      dnnl::memory wM(pd.weights_desc(), eng);
      dnnl::reorder(wUser, wM).execute(strm, wUser, wM);
      dnnl::memory bM(bMd, eng, bias.data());
      dnnl::memory dM(dstMd, eng);
      auto conv = dnnl::convolution_forward(pd);
      double dnnlBest, dnnlMedian;
      timeIt([&] { conv.execute(strm, {{DNNL_ARG_SRC, srcM}, {DNNL_ARG_WEIGHTS, wM}, {DNNL_ARG_BIAS, bM}, {DNNL_ARG_DST, dM}}); strm.wait(); }, 50, 0.3, dnnlBest, dnnlMedian);

      // oneDNN for the integer GEMM only (s32 dst), then the hand-written epilogue on its accumulators:
      // bit for bit the runtime's codes, whatever the ties.
      auto accMd = dnnl::memory::desc(dD, dt::s32, tag::nhwc);
      auto descAcc = dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, srcMd, wAny, accMd, {s.stride, s.stride}, {s.pad, s.pad}, {s.pad, s.pad});
      auto pdAcc = dnnl::convolution_forward::primitive_desc(descAcc, eng);
      dnnl::memory wAccM(pdAcc.weights_desc(), eng);
      dnnl::reorder(wUser, wAccM).execute(strm, wUser, wAccM);
      dnnl::memory accM(accMd, eng);
      auto convAcc = dnnl::convolution_forward(pdAcc);
      std::vector<uint8_t> yb2(yb.size(), 0);
      ConvArgs a2 = a;
      a2.codes[0].data = yb2.data();
      double accBest, accMedian;
      timeIt([&] {
        convAcc.execute(strm, {{DNNL_ARG_SRC, srcM}, {DNNL_ARG_WEIGHTS, wAccM}, {DNNL_ARG_DST, accM}});
        strm.wait();
        runEpilogueRows(isa, a2, static_cast<const int32_t*>(accM.get_data_handle()), s.oc, 0, rows);
      }, 50, 0.3, accBest, accMedian);
      const bool exact = yb2 == yb;
      allExact = allExact && exact;
      // The hand-written epilogue alone on those accumulators: hand-written total minus this is its GEMM.
      double epiBest, epiMedian;
      timeIt([&] { runEpilogueRows(isa, a2, static_cast<const int32_t*>(accM.get_data_handle()), s.oc, 0, rows); }, 50, 0.3, epiBest, epiMedian);

      // Same codes on both sides (up to float rounding of the folded scales at ties).
      const uint8_t* d = static_cast<const uint8_t*>(dM.get_data_handle());
      int64_t differ = 0;
      for (int i = 0; i < n; i++)
        for (int y = 0; y < oh; y++)
          for (int xx = 0; xx < ow; xx++)
            for (int o = 0; o < s.oc; o++) {
              const int u = yb[((static_cast<size_t>(i) * (oh + 2) + y + 1) * (ow + 2) + xx + 1) * ocp4 + o];
              const int v = d[((static_cast<size_t>(i) * oh + y) * ow + xx) * s.oc + o];
              differ += u != v;
            }
      const double gemm = std::max(handBest - epiBest, 1e-9);
      std::printf("| %d | %s | %.2f | %.1f | %.1f | %.2f | %.1f | %.2f | %s | %.1f | %.0f%% | %.0f | %.0f | %.0f%% | %s (%lld of %lld codes differ) |\n", n, s.name, macs / 1e6, handBest * 1e6, dnnlBest * 1e6, dnnlBest / handBest,
                  accBest * 1e6, accBest / handBest, exact ? "yes" : "NO", epiBest * 1e6, 100 * epiBest / handBest, macs / handBest / 1e9, macs / gemm / 1e9, 100 * macs / gemm / peak, pd.impl_info_str(), static_cast<long long>(differ), static_cast<long long>(rows) * s.oc);
      std::fflush(stdout);
    }
  }
  if (!allExact) std::fprintf(stderr, "conv-int8: runEpilogueRows on oneDNN's accumulators did not give the hand-written kernel's codes\n");
  return allExact ? 0 : 1;
}
