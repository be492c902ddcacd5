// fmt's compiled part (what libfmt.so holds), built from fmt's own headers: the functions that
// <fmt/format.h> declares but does not define when FMT_HEADER_ONLY is not set, and the
// instantiations it declares `extern template`. A program that links this instead of libfmt.so
// (see static_dependencies.cmake) needs no fmt at run time; the headers are the same.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {
template FMT_API auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto thousands_sep_impl<wchar_t>(locale_ref) -> thousands_sep_result<wchar_t>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API auto decimal_point_impl(locale_ref) -> wchar_t;
}  // namespace detail
FMT_END_NAMESPACE
