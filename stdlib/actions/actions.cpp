// Tensor actions through LibTorch (ATen only): relative-position-bias tables,
// absolute position embeddings, patch-embedding kernels, dtype casts, row padding with a named init. Interpolation runs in float32,
// as timm and linnaeus do, and the result is cast back to the input's dtype.
#include "runtime/taxon_actions.h"

#include <algorithm>
#include <vector>
#include <cmath>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/aten_dtype.hpp"

namespace {

using json = nlohmann::json;

at::ScalarType scalar_type(const std::string& dtype) {
  if (auto type = taxon::aten_scalar_type(dtype)) return *type;
  throw std::invalid_argument(fmt::format("dtype {} is not supported by the tensor actions", dtype));
}

int64_t square_side(int64_t cells, const std::string& what) {
  auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(cells))));
  if (side * side != cells)
    throw std::invalid_argument(fmt::format("{}: {} cells do not form a square grid; give `grid = [h, w]`", what, cells));
  return side;
}

// (1, C, h, w) -> (1, C, H, W) by the chosen mode.
at::Tensor resize(const at::Tensor& grid, int64_t height, int64_t width, const std::string& mode, bool align_corners,
                  bool antialias) {
  std::vector<int64_t> size{height, width};
  if (mode == "bicubic")
    return antialias ? at::_upsample_bicubic2d_aa(grid, size, align_corners) : at::upsample_bicubic2d(grid, size, align_corners);
  if (mode == "bilinear")
    return antialias ? at::_upsample_bilinear2d_aa(grid, size, align_corners)
                     : at::upsample_bilinear2d(grid, size, align_corners);
  if (mode == "nearest") return at::upsample_nearest2d(grid, size);
  throw std::invalid_argument(fmt::format("unknown mode `{}`: bicubic, bilinear or nearest", mode));
}

std::pair<int64_t, int64_t> grid_of(const json& options, const char* key, int64_t cells, const std::string& what) {
  if (options.contains(key)) {
    auto grid = options[key].get<std::vector<int64_t>>();
    if (grid.size() != 2 || grid[0] * grid[1] != cells)
      throw std::invalid_argument(fmt::format("{}: `{}` does not cover {} cells", what, key, cells));
    return {grid[0], grid[1]};
  }
  int64_t side = square_side(cells, what);
  return {side, side};
}

// timm's resize_rel_pos_bias_table (its default path, after BEiT's recipe): the source offsets
// of one axis are not evenly spaced but grow geometrically from the centre, 0, ±1, ±(1 + q), ...,
// q found by bisection so that the outermost lands near the target's outermost offset; float32
// positions, as timm makes them.
std::vector<double> geometric_positions(int64_t source, int64_t target, bool round_to_float = true) {
  int64_t n = source / 2, m = target / 2;
  auto sum = [&](double q) { return (1 - std::pow(q, static_cast<double>(n))) / (1 - q); };
  double left = 1.01, right = 1.5, q = left;
  while (right - left > 1e-6) {  // timm uses the last midpoint, not either end
    q = (left + right) / 2;
    if (sum(q) > static_cast<double>(m)) right = q;
    else left = q;
  }
  std::vector<double> distances;
  double current = 1;
  for (int64_t i = 0; i < n; ++i) {
    distances.push_back(current);
    current += std::pow(q, static_cast<double>(i + 1));
  }
  std::vector<double> positions;
  auto rounded = [&](double d) { return round_to_float ? static_cast<double>(static_cast<float>(d)) : d; };
  for (auto it = distances.rbegin(); it != distances.rend(); ++it) positions.push_back(rounded(-*it));
  positions.push_back(0);
  for (double d : distances) positions.push_back(rounded(d));
  return positions;
}

// The interpolating cubic spline with not-a-knot ends (scipy's CubicSpline; what BEiT's original
// scipy interp2d(kind='cubic') is, axis by axis), evaluated at x clamped to the samples.
class NotAKnotSpline {
 public:
  NotAKnotSpline(const std::vector<double>& p, std::vector<double> y) : p_(p), y_(std::move(y)), slope_(p.size()) {
    std::size_t n = p.size();
    if (n < 4) throw std::invalid_argument("rel_pos_bias: `mode = \"geometric_cubic\"` needs windows of 3 or more");
    std::vector<double> h(n - 1), delta(n - 1);
    for (std::size_t i = 0; i + 1 < n; ++i) {
      h[i] = p[i + 1] - p[i];
      delta[i] = (y_[i + 1] - y_[i]) / h[i];
    }
    std::vector<double> below(n, 0), diag(n, 0), above(n, 0), rhs(n, 0);
    diag[0] = h[1];
    above[0] = h[0] + h[1];
    rhs[0] = ((h[0] + 2 * (h[0] + h[1])) * h[1] * delta[0] + h[0] * h[0] * delta[1]) / (h[0] + h[1]);
    for (std::size_t i = 1; i + 1 < n; ++i) {
      below[i] = h[i];
      diag[i] = 2 * (h[i - 1] + h[i]);
      above[i] = h[i - 1];
      rhs[i] = 3 * (h[i] * delta[i - 1] + h[i - 1] * delta[i]);
    }
    below[n - 1] = h[n - 2] + h[n - 3];
    diag[n - 1] = h[n - 3];
    rhs[n - 1] = (h[n - 2] * h[n - 2] * delta[n - 3] + (2 * (h[n - 3] + h[n - 2]) + h[n - 2]) * h[n - 3] * delta[n - 2]) /
                 (h[n - 3] + h[n - 2]);
    for (std::size_t i = 1; i < n; ++i) {  // tridiagonal elimination
      double factor = below[i] / diag[i - 1];
      diag[i] -= factor * above[i - 1];
      rhs[i] -= factor * rhs[i - 1];
    }
    slope_[n - 1] = rhs[n - 1] / diag[n - 1];
    for (std::size_t i = n - 1; i-- > 0;) slope_[i] = (rhs[i] - above[i] * slope_[i + 1]) / diag[i];
  }

  double operator()(double x) const {
    x = std::clamp(x, p_.front(), p_.back());
    std::size_t i = static_cast<std::size_t>(std::upper_bound(p_.begin(), p_.end(), x) - p_.begin());
    i = std::min(std::max<std::size_t>(i, 1), p_.size() - 1) - 1;
    double h = p_[i + 1] - p_[i], t = x - p_[i], delta = (y_[i + 1] - y_[i]) / h;
    double c = (3 * delta - 2 * slope_[i] - slope_[i + 1]) / h, d = (slope_[i] + slope_[i + 1] - 2 * delta) / (h * h);
    return y_[i] + t * (slope_[i] + t * (c + t * d));
  }

 private:
  std::vector<double> p_, y_, slope_;
};

// numpy's interp: linear between the samples, the edge value beyond them.
double interpolate_linear(const std::vector<double>& positions, const std::vector<double>& values, double x) {
  if (x <= positions.front()) return values.front();
  if (x >= positions.back()) return values.back();
  std::size_t right = static_cast<std::size_t>(std::lower_bound(positions.begin(), positions.end(), x) - positions.begin());
  if (positions[right] == x) return values[right];
  std::size_t left = right - 1;
  double dl = x - positions[left], dr = positions[right] - x;
  return (values[left] * dr + values[right] * dl) / (dl + dr);
}

// One head's (S, S) grid to (D, D) on the target's integer offsets, axis by axis (rows first, as
// timm), in float64: `make_line` gives the 1-D interpolant through one line of the grid's values.
using Line = std::function<double(double)>;
at::Tensor separable_resize(const at::Tensor& grid, int64_t side, int64_t target_side,
                            const std::function<Line(std::vector<double>)>& make_line) {
  at::Tensor source = grid.to(at::kDouble).contiguous();
  const double* z = source.data_ptr<double>();
  auto offset = [&](int64_t i) { return static_cast<double>(i - target_side / 2); };
  std::vector<double> rows_done(static_cast<std::size_t>(side * target_side));
  for (int64_t y = 0; y < side; ++y) {
    Line line = make_line(std::vector<double>(z + y * side, z + (y + 1) * side));
    for (int64_t x = 0; x < target_side; ++x) rows_done[static_cast<std::size_t>(y * target_side + x)] = line(offset(x));
  }
  at::Tensor out = at::empty({target_side, target_side}, at::kDouble);
  double* o = out.data_ptr<double>();
  for (int64_t x = 0; x < target_side; ++x) {
    std::vector<double> column(static_cast<std::size_t>(side));
    for (int64_t y = 0; y < side; ++y) column[static_cast<std::size_t>(y)] = rows_done[static_cast<std::size_t>(y * target_side + x)];
    Line line = make_line(std::move(column));
    for (int64_t y = 0; y < target_side; ++y) o[y * target_side + x] = line(offset(y));
  }
  return out.to(at::kFloat);
}

// timm's default: straight lines between float32 geometric positions.
at::Tensor geometric_resize(const at::Tensor& grid, int64_t side, int64_t target_side) {
  std::vector<double> from = geometric_positions(side, target_side);
  return separable_resize(grid, side, target_side, [&](std::vector<double> values) -> Line {
    return [&from, values = std::move(values)](double x) { return interpolate_linear(from, values, x); };
  });
}

// BEiT's original: not-a-knot cubic splines through the positions as Python floats, as scipy sees them.
at::Tensor geometric_cubic_resize(const at::Tensor& grid, int64_t side, int64_t target_side) {
  std::vector<double> from = geometric_positions(side, target_side, false);
  return separable_resize(grid, side, target_side,
                          [&](std::vector<double> values) -> Line { return NotAKnotSpline(from, std::move(values)); });
}

// Relative-position-bias tables: ((2w-1)^2 + extra) x heads. Extra rows (a
// class-token bias) are kept as they are: `extra_rows` of them, leading
// (linnaeus: row 0) or trailing (BEiT: 3).
at::Tensor rel_pos_bias(const at::Tensor& table, const std::vector<int64_t>& target, const json& options) {
  if (table.dim() != 2 || target.size() != 2 || table.size(1) != target[1])
    throw std::invalid_argument("rel_pos_bias resizes (rows, heads) tables with the same number of heads");
  int64_t extra = options.value("extra_rows", int64_t{0});
  bool trailing = options.value("extra_position", std::string("leading")) == "trailing";
  int64_t rows = table.size(0) - extra, new_rows = target[0] - extra;
  if (rows <= 0 || new_rows <= 0) throw std::invalid_argument("more extra rows than rows");
  at::Tensor extra_part = trailing ? table.narrow(0, rows, extra) : table.narrow(0, 0, extra);
  at::Tensor grid_part = trailing ? table.narrow(0, 0, rows) : table.narrow(0, extra, rows);
  auto [h, w] = grid_of(options, "grid", rows, "rel_pos_bias");
  auto [H, W] = grid_of(options, "target_grid", new_rows, "rel_pos_bias target");
  int64_t heads = table.size(1);
  std::string mode = options.value("mode", std::string("bicubic"));
  if (mode == "geometric" || mode == "geometric_cubic") {
    if (h != w || H != W) throw std::invalid_argument(fmt::format("rel_pos_bias: `mode = \"{}\"` resizes square grids", mode));
    if (h == H) return table;  // timm returns such a table as it is
    std::vector<at::Tensor> columns;
    for (int64_t head = 0; head < heads; ++head) {
      at::Tensor one = grid_part.select(1, head).reshape({h, w});
      columns.push_back((mode == "geometric" ? geometric_resize(one, h, H) : geometric_cubic_resize(one, h, H)).reshape({H * W, 1}));
    }
    at::Tensor rows_out = at::cat(columns, 1);
    return trailing ? at::cat({rows_out, extra_part.to(at::kFloat)}, 0) : at::cat({extra_part.to(at::kFloat), rows_out}, 0);
  }
  at::Tensor grid = grid_part.reshape({h, w, heads}).permute({2, 0, 1}).unsqueeze(0);  // (1, heads, h, w)
  at::Tensor resized = resize(grid, H, W, options.value("mode", std::string("bicubic")),
                              options.value("align_corners", false), options.value("antialias", false));
  at::Tensor rows_out = resized.squeeze(0).permute({1, 2, 0}).reshape({H * W, heads});
  return trailing ? at::cat({rows_out, extra_part}, 0) : at::cat({extra_part, rows_out}, 0);
}

// Absolute position embeddings: (1, prefix + h*w, C); the prefix tokens
// (class, distillation, registers) lead and are kept.
at::Tensor pos_embed(const at::Tensor& embed, const std::vector<int64_t>& target, const json& options) {
  bool batched = embed.dim() == 3;
  at::Tensor e = batched ? embed : embed.unsqueeze(0);
  if (e.dim() != 3 || target.size() != static_cast<std::size_t>(embed.dim()) || e.size(2) != target.back())
    throw std::invalid_argument("pos_embed resizes (1, tokens, dim) or (tokens, dim) embeddings with the same dim");
  int64_t prefix = options.value("prefix_tokens", int64_t{0});
  int64_t cells = e.size(1) - prefix, new_cells = target[target.size() - 2] - prefix;
  if (cells <= 0 || new_cells <= 0) throw std::invalid_argument("more prefix tokens than tokens");
  auto [h, w] = grid_of(options, "grid", cells, "pos_embed");
  auto [H, W] = grid_of(options, "target_grid", new_cells, "pos_embed target");
  int64_t dim = e.size(2);
  at::Tensor grid = e.narrow(1, prefix, cells).reshape({1, h, w, dim}).permute({0, 3, 1, 2});  // (1, dim, h, w)
  at::Tensor resized = resize(grid, H, W, options.value("mode", std::string("bicubic")),
                              options.value("align_corners", false), options.value("antialias", false));
  at::Tensor out = at::cat({e.narrow(1, 0, prefix), resized.permute({0, 2, 3, 1}).reshape({1, H * W, dim})}, 1);
  return batched ? out : out.squeeze(0);
}

// timm's resample_patch_embed (FlexiViT's pseudo-inverse resize): the kernel w' for which
// <w', resize(x)> best approximates <w, x> for every patch x. M holds the resize of each one-hot
// patch (a column per source pixel); w' = w · pinv(M), in float32 with LibTorch's pinv, as timm.
at::Tensor patch_embed(const at::Tensor& kernel, const std::vector<int64_t>& target, const json& options) {
  if (kernel.dim() != 4 || target.size() != 4 || kernel.size(0) != target[0] || kernel.size(1) != target[1])
    throw std::invalid_argument("patch_embed resamples (out, in, h, w) kernels with the same channels");
  int64_t h = kernel.size(2), w = kernel.size(3), H = target[2], W = target[3];
  if (h == H && w == W) return kernel;
  at::Tensor patches = at::eye(h * w, at::kFloat).reshape({h * w, 1, h, w});
  at::Tensor resized = resize(patches, H, W, options.value("mode", std::string("bicubic")), /*align_corners=*/false,
                              options.value("antialias", true));
  at::Tensor matrix = resized.squeeze(1).permute({1, 2, 0}).reshape({H * W, h * w});
  at::Tensor inverse = at::linalg_pinv(matrix);
  return at::matmul(kernel.reshape({kernel.size(0), kernel.size(1), h * w}), inverse).reshape(target);
}

// Pads or truncates the first dimension (a vocabulary resize). New rows are
// made in float32 by the named init, then cast to the tensor's dtype:
// "zeros"; "mean" (the old rows' mean); "normal" (mean 0, `std`, from a
// generator seeded with `seed`, as torch.Generator().manual_seed(seed) and
// Tensor.normal_ would make them).
at::Tensor rows(const at::Tensor& tensor, const std::vector<int64_t>& target, const json& options) {
  if (tensor.dim() == 0 || target.size() != static_cast<std::size_t>(tensor.dim()) ||
      !std::equal(target.begin() + 1, target.end(), tensor.sizes().begin() + 1))
    throw std::invalid_argument("rows changes the first dimension only");
  int64_t old_rows = tensor.size(0), new_rows = target[0];
  if (new_rows <= old_rows) return tensor.narrow(0, 0, new_rows);
  std::vector<int64_t> added_shape(target.begin(), target.end());
  added_shape[0] = new_rows - old_rows;
  std::string init = options.value("init", std::string());
  at::Tensor added;
  if (init == "zeros") {
    added = at::zeros(added_shape, at::kFloat);
  } else if (init == "mean") {
    if (old_rows == 0) throw std::invalid_argument("init \"mean\" needs at least one old row");
    added = tensor.to(at::kFloat).mean(0, /*keepdim=*/true).expand(added_shape).contiguous();
  } else if (init == "normal") {
    at::Generator generator = at::detail::createCPUGenerator(options.value("seed", uint64_t{0}));
    added = at::empty(added_shape, at::kFloat);
    added.normal_(0.0, options.value("std", 0.02), generator);
  } else {
    throw std::invalid_argument(fmt::format("rows: init `{}` is not \"zeros\", \"mean\" or \"normal\"", init));
  }
  return at::cat({tensor, added.to(tensor.scalar_type())}, 0);
}

}  // namespace

extern "C" int taxon_actions_abi(void) { return TAXON_ACTIONS_ABI; }

extern "C" int taxon_action_run(const char* action, const char* options_json, const taxon_tensor_in* input,
                                const int64_t* target_shape, int64_t target_ndim, taxon_tensor_out* output, char* error,
                                size_t error_size) {
  try {
    json options = json::parse(options_json ? options_json : "{}");
    at::ScalarType type = scalar_type(input->dtype);
    at::Tensor in = at::from_blob(const_cast<void*>(input->data), at::IntArrayRef(input->shape, input->ndim),
                                  at::TensorOptions().dtype(type));
    std::vector<int64_t> target(target_shape, target_shape + target_ndim);
    std::string name = action;
    at::Tensor out;
    if (name == "rel_pos_bias" || name == "pos_embed" || name == "patch_embed") {
      at::Tensor as_float = in.to(at::kFloat);
      out = (name == "rel_pos_bias"  ? rel_pos_bias(as_float, target, options)
             : name == "pos_embed" ? pos_embed(as_float, target, options)
                                   : patch_embed(as_float, target, options))
                .to(type);
    } else if (name == "cast") {
      out = in.to(scalar_type(options.at("to").get<std::string>()));
    } else if (name == "rows") {
      out = rows(in, target, options);
    } else {
      throw std::invalid_argument(fmt::format("unknown action `{}`: rel_pos_bias, pos_embed, patch_embed, cast or rows", name));
    }
    out = out.contiguous();
    if (out.sizes() != at::IntArrayRef(target))
      throw std::invalid_argument(fmt::format("produced shape {} where the target needs {}", fmt::join(out.sizes(), "x"),
                                              fmt::join(target, "x")));
    std::size_t nbytes = out.numel() * out.element_size();
    void* data = std::malloc(nbytes > 0 ? nbytes : 1);
    if (!data) throw std::bad_alloc();
    std::memcpy(data, out.data_ptr(), nbytes);
    output->dtype = taxon::aten_dtype_name(out.scalar_type());
    output->data = data;
    output->nbytes = nbytes;
    return 0;
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "%s", e.what());
    return 1;
  }
}

extern "C" void taxon_action_free(void* data) { std::free(data); }
