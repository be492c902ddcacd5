// CRC-32 (the zip polynomial), for the records taxon writes and the ones it parses.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace taxon {

// Continues `crc` over `size` bytes; start from 0.
inline uint32_t crc32(uint32_t crc, const uint8_t* data, std::size_t size) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace taxon
