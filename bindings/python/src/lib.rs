//! Python extension module for Net (being written).
