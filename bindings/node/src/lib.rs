//! Node.js addon for Net (being written).
