#include <algorithm>

#include "ml_exporter/collector.h"

namespace ml_exporter {

CollectorRegistry& CollectorRegistry::Global() {
  static CollectorRegistry* registry = new CollectorRegistry();
  return *registry;
}

bool CollectorRegistry::Register(Entry entry) {
  if (Find(entry.name) != nullptr) return false;
  entries_.push_back(std::move(entry));
  return true;
}

const CollectorRegistry::Entry* CollectorRegistry::Find(
    std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::vector<const CollectorRegistry::Entry*> CollectorRegistry::Entries()
    const {
  std::vector<const Entry*> out;
  for (const Entry& e : entries_) out.push_back(&e);
  std::sort(out.begin(), out.end(),
            [](const Entry* a, const Entry* b) { return a->name < b->name; });
  return out;
}

}  // namespace ml_exporter
