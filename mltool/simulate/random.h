// Random: the simulator's deterministic random numbers. The same seed gives
// the same sequence on every platform and standard library (unlike the
// std:: distributions, whose algorithms are implementation-defined), so a
// simulated stream is reproducible from its --seed.
#ifndef ML_EXPORTER_MLTOOL_SIMULATE_RANDOM_H_
#define ML_EXPORTER_MLTOOL_SIMULATE_RANDOM_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace ml_exporter::simulate {

// xoshiro256** seeded through splitmix64. Not thread-safe; cheap to copy.
class Random {
 public:
  explicit Random(uint64_t seed) {
    for (uint64_t& s : state_) s = SplitMix(&seed);
  }
  // A generator whose sequence depends on `seed` and `stream` only, so that
  // adding a scenario does not change the others' streams.
  Random(uint64_t seed, std::string_view stream)
      : Random(seed ^ Hash(stream)) {}

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Uniform in [0, n); n > 0.
  size_t Index(size_t n) { return static_cast<size_t>(Uniform() * n); }
  // Uniform in [lo, hi].
  int64_t Int(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Index(static_cast<size_t>(hi - lo + 1)));
  }
  // Box-Muller; one value per call (the second is discarded for simplicity).
  double Normal(double mean, double sd) {
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    return mean + sd * std::sqrt(-2.0 * std::log(u1)) *
                      std::cos(6.283185307179586 * u2);
  }
  // Exponential with the given rate (mean 1 / rate).
  double Exponential(double rate) { return -std::log(1.0 - Uniform()) / rate; }
  double LogNormal(double mu, double sigma) {
    return std::exp(Normal(mu, sigma));
  }
  // Index drawn with probability proportional to its weight.
  size_t Weighted(std::initializer_list<double> weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = Uniform() * total;
    size_t i = 0;
    for (double w : weights) {
      if (x < w) return i;
      x -= w;
      ++i;
    }
    return weights.size() - 1;
  }

  // FNV-1a: stable across runs, for stream names and routing keys.
  static uint64_t Hash(std::string_view s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    return h;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t state_[4];
};

}  // namespace ml_exporter::simulate

#endif  // ML_EXPORTER_MLTOOL_SIMULATE_RANDOM_H_
