//! `to_dot`, `visualize` and `visualize_with` on the tutorial's graphs: the DOT text is
//! parsed back (nodes, shapes, labels, edges, rankdir), the SVG is parsed as XML, and the
//! PNG is decoded. The million-node chain is `#[ignore]`d in debug builds and run by
//! `.ci/run` in release.

use std::collections::BTreeMap;
use std::ops::{Add, Mul, Sub};
use std::path::PathBuf;

use delayed::prelude::*;
use delayed::visualize::{Options, Rankdir, VisualizeError};

#[delayed]
fn inc(i: i64) -> i64 {
    i + 1
}

#[delayed(pure = false)]
fn make_sample(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64).collect()
}

#[delayed(name = "std")]
fn std_dev(sample: &[f64]) -> f64 {
    let mean = sample.iter().sum::<f64>() / sample.len().max(1) as f64;
    (sample.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / sample.len().max(1) as f64).sqrt()
}

#[delayed(name = "mean")]
fn mean_of(values: Vec<f64>) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

#[delayed]
fn load(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 256) as u8).collect()
}

#[delayed]
fn crop(im: &[u8], at: usize) -> Vec<u8> {
    im[at..at + 10].to_vec()
}

#[delayed]
fn diff(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).collect()
}

#[delayed]
fn mean(d: &[u8]) -> f64 {
    d.iter().map(|&v| f64::from(v)).sum::<f64>() / d.len().max(1) as f64
}

#[delayed]
fn histogram(means: Vec<f64>) -> Vec<usize> {
    vec![means.len()]
}

fn tutorial_g() -> Delayed<i64> {
    let e = delay!(Mul::mul(2i64, 3i64));
    let f = delay!(Sub::sub(4i64, 5i64));
    delay!(Add::add(e, f))
}

fn tutorial_oper1() -> Delayed<i64> {
    let var1 = value(String::from("12345"));
    let var2 = delay!((|n: usize| vec![1i64; n])(5));
    let digit = |i: usize| var1.map(move |s| i64::from(s.as_bytes()[i] - b'0'));
    digit(2) + var2.get(3) + digit(0)
}

fn tutorial_std_avg() -> Delayed<f64> {
    let samples: Vec<_> = (0..5).map(|_| make_sample(1000)).collect();
    let stds: Vec<_> = samples.iter().map(std_dev).collect();
    mean_of(stds)
}

fn tutorial_histogram(n: usize) -> Delayed<Vec<usize>> {
    let im = load(1000);
    let pieces: Vec<_> = (0..n).map(|i| crop(&im, i * 100)).collect();
    let mut diffs = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            diffs.push(diff(&pieces[i], &pieces[j]));
        }
    }
    histogram(diffs.iter().map(mean).collect::<Vec<_>>())
}

/// DOT text parsed back: node id → (label, shape, tooltip), and edges.
struct Dot {
    rankdir: String,
    nodes: BTreeMap<String, (String, String, String)>,
    edges: Vec<(String, String)>,
}

fn attr(line: &str, name: &str) -> String {
    let start = line
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        + name.len()
        + 1;
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        quoted[..quoted.find('"').expect("closing quote")].to_owned()
    } else {
        rest[..rest.find([',', ']']).expect("end of attribute")].to_owned()
    }
}

fn parse_dot(text: &str) -> Dot {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("digraph delayed {"));
    assert_eq!(text.lines().last(), Some("}"));
    let mut dot = Dot {
        rankdir: String::new(),
        nodes: BTreeMap::new(),
        edges: Vec::new(),
    };
    for line in lines {
        let line = line.trim();
        if line.starts_with("graph [") {
            dot.rankdir = attr(line, "rankdir");
        } else if let Some((from, to)) = line.strip_suffix(';').and_then(|l| l.split_once(" -> ")) {
            dot.edges.push((from.to_owned(), to.to_owned()));
        } else if line.starts_with('n') && line.contains(" [label=") {
            let id = line[..line.find(' ').expect("id")].to_owned();
            let node = (
                attr(line, "label"),
                attr(line, "shape"),
                attr(line, "tooltip"),
            );
            assert!(dot.nodes.insert(id, node).is_none(), "node twice: {line}");
        }
    }
    for (from, to) in &dot.edges {
        assert!(dot.nodes.contains_key(from) && dot.nodes.contains_key(to));
    }
    dot
}

impl Dot {
    fn count(&self, label: &str) -> usize {
        self.nodes.values().filter(|n| n.0 == label).count()
    }
    fn labels(&self) -> Vec<String> {
        self.nodes.values().map(|n| n.0.clone()).collect()
    }
    fn edges_into(&self, label: &str) -> usize {
        self.edges
            .iter()
            .filter(|(_, to)| self.nodes[to].0 == label)
            .count()
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("delayed-visualize-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn g_is_three_ellipses_and_two_edges() {
    let dot = parse_dot(&tutorial_g().to_dot());
    assert_eq!(dot.rankdir, "BT");
    assert_eq!(dot.nodes.len(), 3);
    assert_eq!(dot.edges.len(), 2);
    for label in ["mul", "sub", "add"] {
        assert_eq!(dot.count(label), 1, "{label}");
    }
    assert!(dot.nodes.values().all(|n| n.1 == "ellipse"));
    assert_eq!(dot.edges_into("add"), 2);
    let add = dot.nodes.values().find(|n| n.0 == "add").unwrap();
    assert_eq!(add.2, tutorial_g().label()); // tooltip: name-1f3a9c0e
}

#[test]
fn oper1_data_is_a_box_and_shared() {
    let oper1 = tutorial_oper1();
    let lr = Options {
        rankdir: Rankdir::LR,
        ..Options::default()
    };
    let dot = parse_dot(&delayed::visualize::to_dot_with(&oper1, &lr));
    assert_eq!(dot.rankdir, "LR");
    assert_eq!(dot.nodes.len(), 7);
    assert_eq!(dot.edges.len(), 7);
    let boxes: Vec<_> = dot.nodes.values().filter(|n| n.1 == "box").collect();
    assert_eq!(boxes.len(), 1);
    assert_eq!(boxes[0].0, "String");
    assert_eq!(
        (dot.count("map"), dot.count("getitem"), dot.count("add")),
        (2, 1, 2)
    );
    // The string is drawn once, with an edge to each `map`.
    let string_id = dot.nodes.iter().find(|n| n.1 .0 == "String").unwrap().0;
    assert_eq!(dot.edges.iter().filter(|e| &e.0 == string_id).count(), 2);
}

#[test]
fn std_avg_draws_lists_as_edges_into_the_consumer() {
    let dot = parse_dot(&tutorial_std_avg().to_dot());
    assert_eq!(dot.nodes.len(), 11);
    assert_eq!(dot.edges.len(), 10);
    assert_eq!(dot.count("make_sample"), 5); // impure: five distinct nodes
    assert_eq!(dot.count("std"), 5);
    assert_eq!(dot.count("collect"), 0);
    assert_eq!(dot.edges_into("mean"), 5);
}

#[test]
fn histogram_solution_with_four_blocks() {
    let dot = parse_dot(&tutorial_histogram(4).to_dot());
    let counts: Vec<usize> = ["load", "crop", "diff", "mean", "histogram"]
        .iter()
        .map(|l| dot.count(l))
        .collect();
    assert_eq!(counts, [1, 4, 6, 6, 1]);
    assert_eq!(dot.edges.len(), 4 + 12 + 6 + 6);
    assert_eq!(dot.edges_into("histogram"), 6);
    assert_eq!(dot.edges_into("diff"), 12);
}

#[test]
fn shared_nodes_are_drawn_once() {
    // The memoization cell: a and b are the same call.
    let a = inc(1);
    let b = inc(1);
    let c = inc(a.clone());
    let d = &b + &c;
    let dot = parse_dot(&d.to_dot());
    assert_eq!(dot.count("inc"), 2);
    assert_eq!(dot.nodes.len(), 3);
    assert_eq!(dot.edges.len(), 3);
    // Several roots in one picture: still one node per key.
    let dot = parse_dot(&delayed::to_dot((&a, &b, &c, &d)));
    assert_eq!(dot.nodes.len(), 3);
    let dot = parse_dot(&delayed::to_dot(vec![a.clone(), b.clone()]));
    assert_eq!(dot.nodes.len(), 1);
}

#[test]
fn same_graph_same_text() {
    assert_eq!(tutorial_g().to_dot(), tutorial_g().to_dot());
    assert_eq!(
        tutorial_histogram(4).to_dot(),
        tutorial_histogram(4).to_dot()
    );
    let d = tutorial_std_avg();
    assert_eq!(d.to_dot(), d.to_dot());
}

/// Draws a graph to a path.
type Draw = Box<dyn Fn(&PathBuf) -> Result<(), VisualizeError>>;

#[test]
fn svg_is_xml_with_every_label() {
    let dir = temp_dir("svg");
    let graphs: [(&str, String, Draw); 3] = [
        (
            "g",
            tutorial_g().to_dot(),
            Box::new(|p| tutorial_g().visualize(p)),
        ),
        (
            "histogram",
            tutorial_histogram(4).to_dot(),
            Box::new(|p| tutorial_histogram(4).visualize(p)),
        ),
        (
            "oper1",
            tutorial_oper1().to_dot(),
            Box::new(|p| {
                tutorial_oper1().visualize_with(
                    p,
                    &Options {
                        rankdir: Rankdir::LR,
                        ..Options::default()
                    },
                )
            }),
        ),
    ];
    for (name, dot, draw) in graphs {
        let path = dir.join(format!("{name}.svg"));
        draw(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        let width: f64 = root.attribute("width").unwrap().parse().unwrap();
        assert!(width > 50.0);
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
        let dot = parse_dot(&dot);
        let mut expected = dot.labels();
        let mut drawn: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
        expected.sort();
        drawn.sort();
        assert_eq!(drawn, expected, "{name}");
        let shapes = doc
            .descendants()
            .filter(|n| {
                n.has_tag_name("ellipse") || (n.has_tag_name("rect") && n.has_attribute("x"))
            })
            .count();
        assert_eq!(shapes, dot.nodes.len(), "{name}");
        let titles = doc
            .descendants()
            .filter(|n| n.has_tag_name("title"))
            .count();
        assert_eq!(titles, dot.nodes.len());
    }
}

#[test]
fn png_decodes_and_is_not_blank() {
    let dir = temp_dir("png");
    let path = dir.join("std_avg.png");
    let lr = Options {
        rankdir: Rankdir::LR,
        ..Options::default()
    };
    tutorial_std_avg().visualize_with(&path, &lr).unwrap();
    let img = image::open(&path).unwrap().to_rgb8();
    let (w, h) = img.dimensions();
    assert!(w > 200 && h > 100, "{w}x{h}");
    assert!(w > h, "LR is wider than tall: {w}x{h}");
    let pixels = img.pixels().count();
    let white = img.pixels().filter(|p| p.0 == [255, 255, 255]).count();
    let dark = img.pixels().filter(|p| p.0.iter().all(|&c| c < 80)).count();
    assert!(white > pixels / 3, "mostly background");
    assert!(white < pixels * 19 / 20, "something is drawn");
    assert!(dark > 500, "text and edges are drawn: {dark} dark pixels");

    // Top to bottom is taller than wide for the same graph.
    let tb = dir.join("std_avg_tb.png");
    let options = Options {
        rankdir: Rankdir::TB,
        ..Options::default()
    };
    tutorial_std_avg().visualize_with(&tb, &options).unwrap();
    let (w, h) = image::open(&tb).unwrap().to_rgb8().dimensions();
    assert!(w > h, "five wide samples side by side: {w}x{h}");
}

#[test]
fn dot_file_matches_to_dot() {
    let dir = temp_dir("dot");
    let d = tutorial_histogram(4);
    d.visualize(dir.join("h.dot")).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("h.dot")).unwrap(),
        d.to_dot()
    );
}

#[test]
fn errors_are_clear_and_nothing_is_written() {
    let d = tutorial_g();
    let dir = temp_dir("errors");
    let err = d.visualize(dir.join("g.pdf")).unwrap_err();
    assert!(matches!(err, VisualizeError::UnknownFormat { .. }));
    assert!(err.to_string().contains("expected .dot"), "{err}");
    assert!(!dir.join("g.pdf").exists());

    let err = d.visualize(dir.join("missing/sub/dir/g.svg")).unwrap_err();
    assert!(matches!(err, VisualizeError::Io { .. }), "{err}");

    let small = Options {
        max_nodes: 2,
        ..Options::default()
    };
    let err = d.visualize_with(dir.join("g.png"), &small).unwrap_err();
    assert!(
        matches!(err, VisualizeError::TooBig { nodes: 3, limit: 2 }),
        "{err}"
    );
    assert!(err.to_string().contains("max_nodes"));
    assert!(!dir.join("g.png").exists());
}

#[test]
fn graphs_at_the_default_limit_draw_quickly() {
    // 2,000 nodes: a wide fan of short chains into one sum, the shape of real workloads.
    let leaves: Vec<_> = (0..666i64).map(|i| inc(inc(i))).collect();
    let total = delayed::collect(&leaves).map(|v| v.iter().sum::<i64>());
    let start = std::time::Instant::now();
    let svg =
        delayed::visualize::render(&total, delayed::visualize::Format::Svg, &Options::default())
            .unwrap();
    assert!(start.elapsed().as_secs() < 60);
    let text = String::from_utf8(svg).unwrap();
    assert_eq!(text.matches("<ellipse").count(), 666 * 2 + 1);
    assert!(roxmltree::Document::parse(&text).is_ok());

    let mut over = inc(0);
    for _ in 0..2_000 {
        over = inc(over);
    }
    let err = over
        .visualize(temp_dir("limit").join("over.svg"))
        .unwrap_err();
    assert!(matches!(err, VisualizeError::TooBig { nodes: 2_001, .. }));
}

fn chain_dot(n: u64) {
    let mut x = inc(0);
    for _ in 1..n {
        x = inc(x);
    }
    let dot = x.to_dot();
    assert_eq!(dot.matches(" -> ").count() as u64, n - 1);
    assert_eq!(dot.matches("label=\"inc\"").count() as u64, n);
}

#[test]
fn chain_of_100k_to_dot() {
    chain_dot(100_000);
}

#[test]
#[ignore = "slow in debug builds; .ci/run runs it in release"]
fn chain_of_a_million_to_dot() {
    chain_dot(1_000_000);
}
