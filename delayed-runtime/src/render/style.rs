//! Colors and line widths shared by SVG and PNG output: tasks are pale blue ellipses, data
//! pale yellow boxes, edges dark grey.

use crate::graph::node::NodeKind;

/// An opaque color.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rgb(pub(crate) u8, pub(crate) u8, pub(crate) u8);

impl Rgb {
    /// `#rrggbb`.
    pub(crate) fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

pub(crate) const BACKGROUND: Rgb = Rgb(255, 255, 255);
pub(crate) const EDGE: Rgb = Rgb(90, 90, 96);
pub(crate) const TEXT: Rgb = Rgb(24, 24, 28);
pub(crate) const EDGE_WIDTH: f32 = 1.3;
pub(crate) const NODE_STROKE_WIDTH: f32 = 1.4;

/// Fill and outline of a node.
pub(crate) fn colors(kind: NodeKind) -> (Rgb, Rgb) {
    match kind {
        NodeKind::Task => (Rgb(230, 239, 252), Rgb(58, 108, 180)),
        NodeKind::Data => (Rgb(255, 243, 207), Rgb(176, 134, 30)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_colors() {
        assert_eq!(Rgb(255, 0, 16).hex(), "#ff0010");
        assert_ne!(colors(NodeKind::Task), colors(NodeKind::Data));
    }
}
