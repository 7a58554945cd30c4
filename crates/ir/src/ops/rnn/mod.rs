//! Recurrent ops: RNN, GRU, LSTM. They share attributes, inference and cost (`common`), the
//! activation functions (`activation`) and the sequence driver (`driver`).

pub mod activation;
pub mod common;
pub mod driver;
pub mod gru;
pub mod lstm;
#[allow(clippy::module_inception)]
pub mod rnn;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register("", "RNN", rnn::build);
    r.register("", "GRU", gru::build);
    r.register("", "LSTM", lstm::build);
}
