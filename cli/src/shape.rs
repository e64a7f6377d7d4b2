//! `--input-shape` values: `1x3x224x224`, or `NAME:1x3x224x224` for one input of several.

use std::fmt;
use std::str::FromStr;

/// One `--input-shape` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputShape {
    /// The input it is for; `None` for the model's only (or first) input.
    pub name: Option<String>,
    /// The sizes.
    pub dims: Vec<usize>,
}

impl FromStr for InputShape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        // rsplit: input names may contain ':' (e.g. `input:0` in converted TensorFlow models),
        // dimensions never do.
        let (name, dims) = match s.rsplit_once(':') {
            Some((name, dims)) if !name.is_empty() => (Some(name.to_string()), dims),
            Some((_, _)) => return Err(format!("\"{s}\": the input name before ':' is empty")),
            None => (None, s),
        };
        Ok(InputShape {
            name,
            dims: parse_dims(dims).map_err(|why| format!("bad shape \"{s}\": {why}"))?,
        })
    }
}

impl fmt::Display for InputShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            write!(f, "{name}:")?;
        }
        f.write_str(&format_dims(&self.dims))
    }
}

/// Sizes joined by `x`: `1x3x224x224`.
pub fn parse_dims(s: &str) -> Result<Vec<usize>, String> {
    if s.trim().is_empty() {
        return Err("expected sizes joined by x, like 1x3x224x224".into());
    }
    s.split(['x', 'X'])
        .map(|d| {
            d.trim()
                .parse::<usize>()
                .map_err(|_| format!("\"{d}\" is not a size (expected sizes joined by x, like 1x3x224x224)"))
        })
        .collect()
}

/// The inverse of [`parse_dims`].
pub fn format_dims(dims: &[usize]) -> String {
    dims.iter().map(usize::to_string).collect::<Vec<_>>().join("x")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_with_and_without_names() {
        let s: InputShape = "1x3x224x224".parse().unwrap();
        assert_eq!((s.name, s.dims), (None, vec![1, 3, 224, 224]));
        let s: InputShape = "input:0:2x4".parse().unwrap();
        assert_eq!((s.name.as_deref(), s.dims), (Some("input:0"), vec![2, 4]));
        assert_eq!("x:7".parse::<InputShape>().unwrap().to_string(), "x:7");
    }

    #[test]
    fn bad_shapes_say_which_part_is_wrong() {
        let e = "1x3xAx4".parse::<InputShape>().unwrap_err();
        assert!(e.contains("\"A\" is not a size"), "{e}");
        assert!("".parse::<InputShape>().is_err());
        assert!(":1x2".parse::<InputShape>().is_err());
        assert!("1x-2".parse::<InputShape>().is_err());
    }
}
