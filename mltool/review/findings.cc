#include "mltool/review/findings.h"

namespace ml_exporter::mltool::review {

const char* AlertFindingKindName(AlertFindingKind kind) {
  switch (kind) {
    case AlertFindingKind::kNeverFired:
      return "never_fired";
    case AlertFindingKind::kFiringMostly:
      return "firing_mostly";
    case AlertFindingKind::kFlapping:
      return "flapping";
  }
  return "unknown";
}

size_t Report::FindingCount() const {
  size_t n = other_alerts.size() + never_fired_rules.size() + overflows.size() +
             collector_failures.size();
  for (const ModelReview& m : models) {
    n += m.flat.size() + m.alerts.size() + m.stale_references.size();
  }
  for (const CollectorTime& t : collector_time) n += t.slow ? 1 : 0;
  return n;
}

}  // namespace ml_exporter::mltool::review
