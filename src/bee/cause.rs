//! JMeter's cause for a plan it could not load: the class it could not
//! find, and what provides that class when stampede knows. JMeter prints
//! `Problem loading XML from: ...` first and the class a few lines
//! later (`CannotResolveClassException: kg.apc.jmeter.threads.SteppingThreadGroup`),
//! so the first error line alone does not say what to install.

/// Exception names whose message is the missing class.
const MISSING_CLASS: [&str; 3] = [
    "CannotResolveClassException:",
    "ClassNotFoundException:",
    "NoClassDefFoundError:",
];

/// Where classes come from, by prefix, most specific first: JMeter's own
/// components (a JMeter home without them cannot load such plans) and
/// the JMeter Plugins' artifacts (Maven coordinates `kg.apc:<artifact>`).
const PROVIDERS: [(&str, &str); 24] = [
    (
        "kg.apc.jmeter.threads.",
        "the JMeter plugin jmeter-plugins-casutg (kg.apc:jmeter-plugins-casutg)",
    ),
    (
        "com.blazemeter.jmeter.threads.",
        "the JMeter plugin jmeter-plugins-casutg (kg.apc:jmeter-plugins-casutg)",
    ),
    (
        "kg.apc.jmeter.samplers.DummySampler",
        "the JMeter plugin jmeter-plugins-dummy (kg.apc:jmeter-plugins-dummy)",
    ),
    (
        "kg.apc.jmeter.timers.VariableThroughputTimer",
        "the JMeter plugin jmeter-plugins-tst (kg.apc:jmeter-plugins-tst)",
    ),
    (
        "kg.apc.jmeter.perfmon.",
        "the JMeter plugin jmeter-plugins-perfmon (kg.apc:jmeter-plugins-perfmon)",
    ),
    (
        "kg.apc.jmeter.functions.",
        "the JMeter plugin jmeter-plugins-functions (kg.apc:jmeter-plugins-functions)",
    ),
    (
        "kg.apc.jmeter.vizualizers.",
        "the JMeter plugin jmeter-plugins-graphs-basic (kg.apc:jmeter-plugins-graphs-basic)",
    ),
    (
        "com.googlecode.jmeter.plugins.webdriver.",
        "the JMeter plugin jmeter-plugins-webdriver (kg.apc:jmeter-plugins-webdriver)",
    ),
    (
        "kg.apc.",
        "a JMeter Plugins jar (Maven group kg.apc; the plugin's page names its artifact)",
    ),
    (
        "org.apache.jmeter.protocol.system.",
        "JMeter's OS Process sampler, ApacheJMeter_native",
    ),
    (
        "org.apache.jmeter.protocol.tcp.",
        "JMeter's TCP sampler, ApacheJMeter_tcp",
    ),
    (
        "org.apache.jmeter.protocol.jdbc.",
        "JMeter's JDBC component, ApacheJMeter_jdbc",
    ),
    (
        "org.apache.jmeter.protocol.ftp.",
        "JMeter's FTP sampler, ApacheJMeter_ftp",
    ),
    (
        "org.apache.jmeter.protocol.ldap.",
        "JMeter's LDAP sampler, ApacheJMeter_ldap",
    ),
    (
        "org.apache.jmeter.protocol.jms.",
        "JMeter's JMS samplers, ApacheJMeter_jms",
    ),
    (
        "org.apache.jmeter.protocol.smtp.",
        "JMeter's SMTP sampler, ApacheJMeter_mail",
    ),
    (
        "org.apache.jmeter.protocol.mail.",
        "JMeter's mail reader, ApacheJMeter_mail",
    ),
    (
        "org.apache.jmeter.protocol.mongodb.",
        "JMeter's MongoDB component, ApacheJMeter_mongodb",
    ),
    (
        "org.apache.jmeter.protocol.bolt.",
        "JMeter's Bolt (Neo4j) sampler, ApacheJMeter_bolt",
    ),
    (
        "org.apache.jmeter.protocol.java.sampler.JUnit",
        "JMeter's JUnit sampler, ApacheJMeter_junit",
    ),
    (
        "org.apache.jmeter.protocol.java.",
        "JMeter's Java sampler, ApacheJMeter_java",
    ),
    (
        "org.apache.jmeter.protocol.http.",
        "JMeter's HTTP component, ApacheJMeter_http",
    ),
    (
        "org.apache.jmeter.",
        "one of JMeter's own components (a complete JMeter 5.6.3 has them all)",
    ),
    (
        "com.blazemeter.",
        "a BlazeMeter JMeter plugin (Maven group kg.apc or com.blazemeter)",
    ),
];

/// The class a JMeter output line says is missing, if it says so.
pub fn missing_class(line: &str) -> Option<&str> {
    MISSING_CLASS.iter().find_map(|marker| {
        let (_, rest) = line.split_once(marker)?;
        let class = rest.split_whitespace().next()?;
        let class = class.trim_end_matches([',', ';', ')']);
        let plausible = !class.is_empty()
            && class
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '$' | '/'));
        plausible.then_some(class)
    })
}

/// What provides `class`, when stampede knows.
pub fn provider(class: &str) -> Option<&'static str> {
    let dotted = class.replace('/', ".");
    PROVIDERS
        .iter()
        .find(|(prefix, _)| dotted.starts_with(prefix))
        .map(|(_, what)| *what)
}

/// JMeter's lines naming a missing class, quoted, with what provides it:
/// `CannotResolveClassException: kg.apc...SteppingThreadGroup (provided by
/// the JMeter plugin jmeter-plugins-casutg ...)`. `None` when no line
/// names one. Each class is named once, at most three.
pub fn explain<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        let Some(class) = missing_class(line) else {
            continue;
        };
        if seen.iter().any(|c| c == class) || seen.len() == 3 {
            continue;
        }
        seen.push(class.to_string());
        let exception = MISSING_CLASS
            .iter()
            .find(|m| line.contains(*m))
            .map_or("missing class:", |m| m);
        let provided = provider(class).map_or_else(
            || " (not a class stampede knows: install the jar that provides it into JMeter's lib/ext)".to_string(),
            |p| format!(" (provided by {p})"),
        );
        out.push(format!("{exception} {class}{provided}"));
    }
    (!out.is_empty()).then(|| out.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What JMeter 5.6.3 prints for a plan using the Stepping Thread Group
    /// without its plugin, and for an OS Process sampler without
    /// ApacheJMeter_native (copied from real runs).
    #[test]
    fn jmeters_lines_name_the_class_and_the_plugin() {
        let out = "Error in NonGUIDriver java.lang.IllegalArgumentException: Problem loading XML from:'/p.jmx'. \n\
                   Cause:\n\
                   CannotResolveClassException: kg.apc.jmeter.threads.SteppingThreadGroup\n\
                   \n Detail:com.thoughtworks.xstream.converters.ConversionException: \n";
        let e = explain(out.lines()).unwrap();
        assert_eq!(
            e,
            "CannotResolveClassException: kg.apc.jmeter.threads.SteppingThreadGroup \
             (provided by the JMeter plugin jmeter-plugins-casutg (kg.apc:jmeter-plugins-casutg))"
        );
        let native = "CannotResolveClassException: org.apache.jmeter.protocol.system.SystemSampler";
        assert!(explain([native]).unwrap().contains("ApacheJMeter_native"));
        let odd = "java.lang.NoClassDefFoundError: com/example/Thing";
        assert!(
            explain([odd])
                .unwrap()
                .contains("com/example/Thing (not a class stampede knows")
        );
        assert_eq!(explain(["Problem loading XML from: x"]), None);
    }

    #[test]
    fn a_class_is_named_once() {
        let line = "ClassNotFoundException: kg.apc.jmeter.samplers.DummySampler";
        let e = explain([line, line]).unwrap();
        assert_eq!(e.matches("DummySampler").count(), 1, "{e}");
        assert!(e.contains("jmeter-plugins-dummy"));
    }
}
