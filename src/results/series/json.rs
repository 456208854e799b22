//! The series as summary.json holds them (SCHEMA.md `series`).

/// One label's per-interval values, as stored in summary.json.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Points {
    /// Samples per bucket.
    pub count: Vec<u64>,
    /// Failed samples per bucket.
    pub errors: Vec<u64>,
    /// Median elapsed ms per bucket (`null` when empty).
    pub p50: Vec<Option<u64>>,
    /// 95th percentile.
    pub p95: Vec<Option<u64>>,
    /// 99th percentile.
    pub p99: Vec<Option<u64>>,
}

/// `series` in summary.json (SCHEMA.md).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeriesSummary {
    /// Bucket width.
    pub interval_ms: i64,
    /// Epoch ms where bucket 0 starts.
    pub start_ms: i64,
    /// `total` first, then each label in first-seen order.
    pub labels: OrderedLabels,
    /// Active threads per bucket, when the JTL has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<Vec<Option<u64>>>,
}

/// Labels and their points as a JSON object that keeps its order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderedLabels(pub Vec<(String, Points)>);

impl serde::Serialize for OrderedLabels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> serde::Deserialize<'de> for OrderedLabels {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OrderedLabels;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of label series")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Points>()? {
                    out.push((k, v));
                }
                Ok(OrderedLabels(out))
            }
        }
        d.deserialize_map(V)
    }
}
