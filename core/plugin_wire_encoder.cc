#include "core/plugin_wire_encoder.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ml_exporter.pb.h"

namespace ml_exporter::internal {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Timestamp;
using google::protobuf::Value;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2 };

// Map entries (Struct.fields, Record.blobs) are messages {key = 1; value =
// 2}; protobuf fixes these numbers for every map.
constexpr int kMapKey = 1;
constexpr int kMapValue = 2;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

size_t TagSize(int field) {
  return VarintSize(static_cast<uint64_t>(field) << 3);
}

size_t LengthDelimitedSize(int field, size_t size) {
  return TagSize(field) + VarintSize(size) + size;
}

// Encoding runs twice over the same code: once with a Counter for the
// exact size, then with a Writer into a buffer of that size. Appending to a
// std::string piece by piece cost more than the encoding itself.
struct Counter {
  size_t size = 0;
  void Byte(char) { ++size; }
  void Append(const char*, size_t n) { size += n; }
};

struct Writer {
  char* p;
  void Byte(char c) { *p++ = c; }
  void Append(const char* data, size_t n) {
    if (n != 0) std::memcpy(p, data, n);
    p += n;
  }
};

template <typename Sink>
void PutVarint(uint64_t v, Sink* out) {
  while (v >= 0x80) {
    out->Byte(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->Byte(static_cast<char>(v));
}

template <typename Sink>
void PutTag(int field, WireType type, Sink* out) {
  PutVarint((static_cast<uint64_t>(field) << 3) | type, out);
}

template <typename Sink>
void PutLengthDelimitedHeader(int field, size_t size, Sink* out) {
  PutTag(field, kLengthDelimited, out);
  PutVarint(size, out);
}

template <typename Sink>
void PutBytes(int field, std::string_view s, Sink* out) {
  PutLengthDelimitedHeader(field, s.size(), out);
  out->Append(s.data(), s.size());
}

// proto3 leaves empty strings out.
template <typename Sink>
void PutNonEmpty(int field, std::string_view s, Sink* out) {
  if (!s.empty()) PutBytes(field, s, out);
}

template <typename Sink>
void PutDouble(int field, double v, Sink* out) {
  PutTag(field, kFixed64, out);
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  char bytes[8];  // little-endian on the wire
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(bits >> (8 * i));
  out->Append(bytes, sizeof bytes);
}

template <typename Sink>
void PutBool(int field, bool v, Sink* out) {
  PutTag(field, kVarint, out);
  out->Byte(v ? 1 : 0);
}

// A google.protobuf.Value body. Oneof members are written even when they
// hold the default value: that is what says which one is set.
size_t ValueSize(const FieldValue& v, const std::vector<FieldValue>& items);

size_t ListSize(const FieldValue& v, const std::vector<FieldValue>& items) {
  size_t size = 0;
  for (uint32_t i = 0; i < v.list_size; ++i) {
    const FieldValue& item = items[v.list_begin + i];
    size += LengthDelimitedSize(ListValue::kValuesFieldNumber,
                                ValueSize(item, items));
  }
  return size;
}

size_t ValueSize(const FieldValue& v, const std::vector<FieldValue>& items) {
  switch (v.kind) {
    case FieldValue::Kind::kNull:
      return TagSize(Value::kNullValueFieldNumber) + 1;
    case FieldValue::Kind::kNumber:
      return TagSize(Value::kNumberValueFieldNumber) + 8;
    case FieldValue::Kind::kString:
      return LengthDelimitedSize(Value::kStringValueFieldNumber, v.text.size());
    case FieldValue::Kind::kBool:
      return TagSize(Value::kBoolValueFieldNumber) + 1;
    case FieldValue::Kind::kList:
      return LengthDelimitedSize(Value::kListValueFieldNumber,
                                 ListSize(v, items));
  }
  return 0;
}

template <typename Sink>
void PutValueBody(const FieldValue& v, const std::vector<FieldValue>& items,
                  Sink* out) {
  switch (v.kind) {
    case FieldValue::Kind::kNull:
      PutTag(Value::kNullValueFieldNumber, kVarint, out);
      out->Byte(0);
      return;
    case FieldValue::Kind::kNumber:
      PutDouble(Value::kNumberValueFieldNumber, v.number, out);
      return;
    case FieldValue::Kind::kString:
      PutBytes(Value::kStringValueFieldNumber, v.text, out);
      return;
    case FieldValue::Kind::kBool:
      PutBool(Value::kBoolValueFieldNumber, v.boolean, out);
      return;
    case FieldValue::Kind::kList:
      PutLengthDelimitedHeader(Value::kListValueFieldNumber, ListSize(v, items),
                               out);
      for (uint32_t i = 0; i < v.list_size; ++i) {
        const FieldValue& item = items[v.list_begin + i];
        PutLengthDelimitedHeader(ListValue::kValuesFieldNumber,
                                 ValueSize(item, items), out);
        PutValueBody(item, items, out);
      }
      return;
  }
}

size_t FieldEntrySize(const Field& f, const std::vector<FieldValue>& items) {
  return LengthDelimitedSize(kMapKey, f.name.size()) +
         LengthDelimitedSize(kMapValue, ValueSize(f.value, items));
}

template <typename Sink>
void PutStruct(int field, const std::vector<Field>& fields,
               const std::vector<FieldValue>& items, Sink* out) {
  if (fields.empty()) return;
  size_t size = 0;
  for (const Field& f : fields) {
    size += LengthDelimitedSize(Struct::kFieldsFieldNumber,
                                FieldEntrySize(f, items));
  }
  PutLengthDelimitedHeader(field, size, out);
  for (const Field& f : fields) {
    PutLengthDelimitedHeader(Struct::kFieldsFieldNumber,
                             FieldEntrySize(f, items), out);
    PutBytes(kMapKey, f.name, out);
    PutLengthDelimitedHeader(kMapValue, ValueSize(f.value, items), out);
    PutValueBody(f.value, items, out);
  }
}

template <typename Sink>
void PutTime(int field, double unix_seconds, Sink* out) {
  if (!std::isfinite(unix_seconds)) return;
  double whole = std::floor(unix_seconds);
  auto seconds = static_cast<int64_t>(whole);
  auto nanos = static_cast<int32_t>(std::llround((unix_seconds - whole) * 1e9));
  if (nanos >= 1000000000) {
    ++seconds;
    nanos -= 1000000000;
  }
  const auto seconds_bits = static_cast<uint64_t>(seconds);
  const auto nanos_bits = static_cast<uint64_t>(static_cast<int64_t>(nanos));
  size_t size = 0;
  if (seconds != 0) {
    size += TagSize(Timestamp::kSecondsFieldNumber) + VarintSize(seconds_bits);
  }
  if (nanos != 0) {
    size += TagSize(Timestamp::kNanosFieldNumber) + VarintSize(nanos_bits);
  }
  PutLengthDelimitedHeader(field, size, out);
  if (seconds != 0) {
    PutTag(Timestamp::kSecondsFieldNumber, kVarint, out);
    PutVarint(seconds_bits, out);
  }
  if (nanos != 0) {
    PutTag(Timestamp::kNanosFieldNumber, kVarint, out);
    PutVarint(nanos_bits, out);
  }
}

// The bytes of each blob to send: its data, or its base64 text decoded
// into `scratch` (offset, size); an invalid one is skipped.
struct BlobBytes {
  std::string_view name;
  std::string_view data;  // empty for decoded blobs: see offset
  size_t offset = 0;
  size_t size = 0;
  bool decoded = false;
};

template <typename Sink>
void PutRecord(const Record& record, const std::vector<BlobBytes>& blobs,
               const std::string& scratch, Sink* out) {
  using v1::Record;
  PutNonEmpty(Record::kModelFieldNumber, record.model, out);
  PutNonEmpty(Record::kVersionFieldNumber, record.version, out);
  PutNonEmpty(Record::kStageFieldNumber, record.stage, out);
  PutNonEmpty(Record::kRequestIdFieldNumber, record.request_id, out);
  PutNonEmpty(Record::kSessionIdFieldNumber, record.session_id, out);
  PutTime(Record::kTimeFieldNumber, record.time_seconds, out);
  if (!std::isnan(record.latency_seconds)) {
    PutDouble(Record::kLatencySecondsFieldNumber, record.latency_seconds, out);
  }
  if (record.error) PutBool(Record::kErrorFieldNumber, true, out);
  PutStruct(Record::kInputsFieldNumber, record.inputs, record.list_items, out);
  PutStruct(Record::kOutputsFieldNumber, record.outputs, record.list_items,
            out);
  for (const BlobBytes& blob : blobs) {
    const std::string_view data =
        blob.decoded ? std::string_view(scratch).substr(blob.offset, blob.size)
                     : blob.data;
    PutLengthDelimitedHeader(Record::kBlobsFieldNumber,
                             LengthDelimitedSize(kMapKey, blob.name.size()) +
                                 LengthDelimitedSize(kMapValue, data.size()),
                             out);
    PutBytes(kMapKey, blob.name, out);
    PutBytes(kMapValue, data, out);
  }
}

template <typename Sink>
void PutEvent(const Event& event, Sink* out) {
  using v1::Event;
  PutNonEmpty(Event::kTypeFieldNumber, event.type, out);
  PutNonEmpty(Event::kModelFieldNumber, event.model, out);
  PutNonEmpty(Event::kVersionFieldNumber, event.version, out);
  PutNonEmpty(Event::kStageFieldNumber, event.stage, out);
  PutNonEmpty(Event::kRequestIdFieldNumber, event.request_id, out);
  PutNonEmpty(Event::kSessionIdFieldNumber, event.session_id, out);
  PutTime(Event::kTimeFieldNumber, event.time_seconds, out);
  // An event without a payload has a null value in the view; leave it out
  // (absent and null read back the same).
  if (event.value.kind != FieldValue::Kind::kNull) {
    PutLengthDelimitedHeader(Event::kValueFieldNumber,
                             ValueSize(event.value, event.list_items), out);
    PutValueBody(event.value, event.list_items, out);
  }
}

// Sizes `out` exactly and fills it.
template <typename Put>
void Encode(Put put, std::string* out) {
  Counter counter;
  put(&counter);
  out->resize(counter.size);
  Writer writer{out->data()};
  put(&writer);
}

int Base64Digit(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

bool DecodeBase64(std::string_view text, std::string* out) {
  out->clear();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return false;
  out->reserve(text.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : text) {
    int d = Base64Digit(c);
    if (d < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

void EncodeRecordForPlugin(const Record& record, std::string* out,
                           std::string* scratch) {
  std::vector<BlobBytes> blobs;
  if (!record.blobs.empty()) {
    scratch->clear();
    std::string decoded;
    for (const Blob& b : record.blobs) {
      if (!b.base64) {
        blobs.push_back({b.name, b.data});
      } else if (DecodeBase64(b.data, &decoded)) {
        blobs.push_back({b.name, {}, scratch->size(), decoded.size(), true});
        scratch->append(decoded);
      }
    }
  }
  Encode([&](auto* sink) { PutRecord(record, blobs, *scratch, sink); }, out);
}

void EncodeEventForPlugin(const Event& event, std::string* out) {
  Encode([&](auto* sink) { PutEvent(event, sink); }, out);
}

}  // namespace ml_exporter::internal
