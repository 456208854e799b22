//! A parameter value that the template's own constraints reject is caught
//! at render time, naming the parameter, instead of by CloudFormation
//! after the uploads: `--var bees=four` must not get that far.

use serde_norway::Value;

/// Every way the given parameter values break the template's
/// `Parameters` constraints (Type Number, MinValue, MaxValue, MinLength,
/// MaxLength, AllowedValues, AllowedPattern).
pub fn violations(template: &Value, values: &[(String, String)]) -> Vec<String> {
    let Some(params) = template.get("Parameters") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in values {
        let Some(p) = params.get(name.as_str()) else {
            out.push(format!(
                "parameters.{name}: the template declares no parameter `{name}`"
            ));
            continue;
        };
        if let Err(why) = check(p, value) {
            let hint = p
                .get("ConstraintDescription")
                .and_then(Value::as_str)
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            out.push(format!("parameters.{name}: {value:?} {why}{hint}"));
        }
    }
    out
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn check(p: &Value, value: &str) -> Result<(), String> {
    let kind = p.get("Type").and_then(Value::as_str).unwrap_or("String");
    // CloudFormation applies a list's AllowedPattern and AllowedValues to
    // each item.
    if kind == "CommaDelimitedList" || kind.starts_with("List<") {
        return value
            .split(',')
            .try_for_each(|item| check_item(p, "String", item.trim()))
            .map_err(|why| format!("has an item that {why}"));
    }
    check_item(p, kind, value)
}

fn check_item(p: &Value, kind: &str, value: &str) -> Result<(), String> {
    if kind == "Number" {
        let n: f64 = value
            .trim()
            .parse()
            .map_err(|_| "is not a number (the parameter's Type is Number)".to_string())?;
        if let Some(min) = number(p.get("MinValue"))
            && n < min
        {
            return Err(format!("is below MinValue {min}"));
        }
        if let Some(max) = number(p.get("MaxValue"))
            && n > max
        {
            return Err(format!("is above MaxValue {max}"));
        }
    }
    let len = value.chars().count() as f64;
    if let Some(min) = number(p.get("MinLength"))
        && len < min
    {
        return Err(format!("is shorter than MinLength {min}"));
    }
    if let Some(max) = number(p.get("MaxLength"))
        && len > max
    {
        return Err(format!("is longer than MaxLength {max}"));
    }
    if let Some(Value::Sequence(allowed)) = p.get("AllowedValues") {
        let ok = allowed.iter().any(|a| match a {
            Value::String(s) => s == value,
            Value::Number(n) => n.to_string() == value,
            Value::Bool(b) => b.to_string() == value,
            _ => false,
        });
        if !ok {
            return Err("is not one of the AllowedValues".into());
        }
    }
    if let Some(pattern) = p.get("AllowedPattern").and_then(Value::as_str) {
        // CloudFormation matches the whole value (Java's `matches`).
        let re = regex_lite::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| format!("cannot be checked: AllowedPattern is not a regex: {e}"))?;
        if !re.is_match(value) {
            return Err(format!("does not match AllowedPattern {pattern}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "Parameters:\n  Types: { Type: CommaDelimitedList, AllowedPattern: \"^[a-z0-9]+\\\\.[a-z]+$\" }\n  BeeCount: { Type: Number, MinValue: 1, MaxValue: 500 }\n  TargetUrl: { Type: String, AllowedPattern: \"^[^'\\\"\\\\s]+$\", ConstraintDescription: no quotes }\n  Size: { Type: String, AllowedValues: [small, large] }\n";

    fn v(pairs: &[(&str, &str)]) -> Vec<String> {
        let t: Value = serde_norway::from_str(T).unwrap();
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        violations(&t, &owned)
    }

    #[test]
    fn the_templates_constraints_are_checked() {
        assert!(
            v(&[
                ("BeeCount", "4"),
                ("TargetUrl", "http://x"),
                ("Size", "small")
            ])
            .is_empty()
        );
        let e = v(&[("BeeCount", "four")]);
        assert_eq!(
            e,
            vec!["parameters.BeeCount: \"four\" is not a number (the parameter's Type is Number)"]
        );
        assert!(v(&[("BeeCount", "501")])[0].contains("above MaxValue 500"));
        assert!(v(&[("TargetUrl", "http://x y")])[0].contains("AllowedPattern"));
        assert!(v(&[("TargetUrl", "a'b")])[0].ends_with("(no quotes)"));
        assert!(v(&[("Size", "huge")])[0].contains("AllowedValues"));
        assert!(v(&[("Nope", "1")])[0].contains("declares no parameter"));
        assert!(v(&[("Types", "c6i.large,c5.large")]).is_empty());
        let e = v(&[("Types", "c6i.large,c5 large")]);
        assert!(e[0].contains("has an item that does not match"), "{e:?}");
    }
}
