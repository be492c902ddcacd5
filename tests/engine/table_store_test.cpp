// Where a table keeps its strings and shapes: views that outlive the table they were made in as
// long as a copy lives, copies that store their additions apart, records moved between tables.
#include <doctest/doctest.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "engine/tensor_table.hpp"

using namespace taxon;

TEST_CASE("stored text and sizes are copies - viewed for as long as a copy of the table lives") {
  std::optional<TensorTable> original(std::in_place);
  std::string name = "blocks.0.attn.qkv.weight";
  std::vector<int64_t> sizes = {2304, 768};
  TensorRecord& record = original->tensors.emplace_back();
  record.name = original->text(name);
  record.shape = original->dims(sizes);
  name.assign(name.size(), 'x');  // the caller's buffers may change or go
  sizes = {0, 0};
  TensorTable copy = *original;
  original.reset();
  CHECK(copy.tensors[0].name == "blocks.0.attn.qkv.weight");
  CHECK(copy.tensors[0].shape == std::vector<int64_t>{2304, 768});
  CHECK(copy.tensors[0].element_count() == 2304 * 768);
  CHECK(shape_text(copy.tensors[0].shape) == "[2304, 768]");
}

TEST_CASE("a copy stores its own additions - the original's views do not move") {
  TensorTable original;
  std::string_view first = original.text("a.weight");
  TensorTable copy = original;
  std::string_view added = copy.text("b.weight");
  std::string_view more = original.text("c.weight");
  CHECK(first == "a.weight");
  CHECK(added == "b.weight");
  CHECK(more == "c.weight");
  CHECK(added.data() != more.data());
  CHECK(original.store.bytes() > 0);
}

TEST_CASE("strings larger than a block - many small ones - and empty ones") {
  TensorTable table;
  std::string big(3 << 20, 'b');
  std::string_view stored_big = table.text(big);
  std::vector<std::string_view> small;
  for (int i = 0; i < 100000; ++i) small.push_back(table.text(std::to_string(i)));
  CHECK(stored_big == big);
  for (int i = 0; i < 100000; i += 9973) CHECK(small[static_cast<std::size_t>(i)] == std::to_string(i));
  CHECK(table.text("").empty());
  CHECK(table.dims({}).empty());
  // Blocks double up to 1 MiB: ~600 KB of digits and one 3 MiB string take a few blocks, not one per string.
  CHECK(table.store.bytes() < (3 << 20) + (2 << 20));
}

TEST_CASE("records moved to another table - kept alive by keep() - copied by add_copy()") {
  TensorTable merged;
  {
    TensorTable part;
    TensorRecord& record = part.tensors.emplace_back();
    record.name = part.text("encoder.w");
    record.shape = part.dims(std::vector<int64_t>{4});
    record.module = part.text("encoder");
    merged.store.keep(part.store);
    merged.tensors.push_back(record);
    merged.add_copy(record).name = merged.text("decoder.w");
  }
  CHECK(merged.tensors[0].name == "encoder.w");
  CHECK(merged.tensors[0].module == "encoder");
  CHECK(merged.tensors[1].name == "decoder.w");
  CHECK(merged.tensors[1].shape == merged.tensors[0].shape);
  CHECK(merged.tensors[1].shape.data() != merged.tensors[0].shape.data());
}

TEST_CASE("Dims compare by value - with each other and with a vector") {
  TensorTable table;
  Dims a = table.dims(std::vector<int64_t>{1, 2, 3});
  Dims b = table.dims(std::vector<int64_t>{1, 2, 3});
  CHECK(a == b);
  CHECK(a == std::vector<int64_t>{1, 2, 3});
  CHECK(a != std::vector<int64_t>{1, 2});
  CHECK(Dims() == std::vector<int64_t>{});
  CHECK(a.to_vector() == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("a record's tie and source label - held in the record - copied with it") {
  TensorRecord record;
  CHECK_FALSE(record.tied_to);
  CHECK(record.source.view().empty());
  record.tied_to = std::size_t{4'000'000'000};  // past int32, within the four bytes
  record.source = SourceLabel::of_input(12);
  TensorRecord copy = record;
  record.source = SourceLabel::of_input(3);
  REQUIRE(copy.tied_to.has_value());
  CHECK(*copy.tied_to == 4'000'000'000);
  CHECK(copy.source.view() == "12");
  CHECK(record.source.view() == "3");
  CHECK(SourceLabel::of_input(9'999'999).view() == "9999999");
  CHECK_THROWS_AS(SourceLabel::of_input(10'000'000), std::invalid_argument);
  copy.tied_to.reset();
  CHECK(copy.tied_to == TieIndex());
  CHECK(copy.tied_to == TieIndex(std::nullopt));
}
