//! A YAML document as a tree of positioned nodes.
//!
//! serde-saphyr does the YAML work (syntax, duplicate keys, merge keys, alias budgets) and
//! hands every node to [`Node`]'s visitor wrapped in [`Spanned`], so each value keeps its
//! line and column. The schema walk in `lower.rs` then checks CodeBuild's keys by hand: that
//! is what lets an unknown key be a warning and every type error point at its own token.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::Pos;

/// A YAML value with the position of its first character.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// The YAML value kinds we tell apart.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order; keys keep their own positions.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// What the value is, for "expected X, found Y" messages.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// The deserialised form: a value whose children are spanned nodes.
struct RawValue(Value);

fn to_node(s: Spanned<RawValue>) -> Node {
    let loc = s.referenced;
    Node {
        pos: Pos {
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
            col: u32::try_from(loc.column()).unwrap_or(u32::MAX),
        },
        value: s.value.0,
    }
}

/// Parses YAML text into a positioned tree. An empty document is `Null` at 1:1.
pub fn parse_tree(text: &str) -> Result<Node, serde_saphyr::Error> {
    let opts = serde_saphyr::options! {
        // `AWS_ACCOUNT_ID: 090123123123` must stay the text the user wrote.
        leading_zero_numbers_as_strings: true,
    };
    let spanned: Option<Spanned<RawValue>> = serde_saphyr::from_str_with_options(text, opts)?;
    Ok(spanned.map_or(
        Node {
            pos: Pos { line: 1, col: 1 },
            value: Value::Null,
        },
        to_node,
    ))
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue(Value::Null))
    }
    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue(Value::Int(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawValue, E> {
        Ok(RawValue(Value::Int(v.into())))
    }
    fn visit_i128<E>(self, v: i128) -> Result<RawValue, E> {
        Ok(RawValue(Value::Int(v)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawValue, E> {
        i128::try_from(v)
            .map(|i| RawValue(Value::Int(i)))
            .map_err(|_| E::custom("number too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue(Value::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue(Value::Str(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue(Value::Str(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<RawValue>>()? {
            items.push(to_node(item));
        }
        Ok(RawValue(Value::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Spanned<RawValue>, Spanned<RawValue>>()? {
            entries.push((to_node(k), to_node(v)));
        }
        Ok(RawValue(Value::Map(entries)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_keep_positions_and_scalar_kinds() {
        let n = parse_tree(
            "a: 0.2
b:
  - x
  - 090
",
        )
        .expect("valid YAML");
        let Value::Map(pairs) = &n.value else {
            panic!("{n:?}")
        };
        assert_eq!(pairs[0].0.pos, Pos { line: 1, col: 1 });
        assert_eq!(pairs[0].1.value, Value::Float(0.2));
        assert_eq!(pairs[0].1.pos, Pos { line: 1, col: 4 });
        let Value::Seq(items) = &pairs[1].1.value else {
            panic!("{n:?}")
        };
        assert_eq!(items[0].value, Value::Str("x".into()));
        assert_eq!(items[0].pos, Pos { line: 3, col: 5 });
        // A leading zero keeps the text as written.
        assert_eq!(items[1].value, Value::Str("090".into()));
    }

    #[test]
    fn empty_document_is_null() {
        let n = parse_tree("# only a comment\n").expect("valid YAML");
        assert_eq!(n.value, Value::Null);
    }
}
