//! Each pass on tiny hand-built graphs: the rewrite happened, and the outputs are unchanged.

mod basic;
mod batch_norm;
mod fusion;
mod shapes;
