//! Loss functions: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.

pub mod common;
pub mod negative_log_likelihood_loss;
pub mod softmax_cross_entropy_loss;

use crate::registry::Registry;

pub fn register(r: &mut Registry) {
    r.register(
        "",
        "NegativeLogLikelihoodLoss",
        negative_log_likelihood_loss::build,
    );
    r.register(
        "",
        "SoftmaxCrossEntropyLoss",
        softmax_cross_entropy_loss::build,
    );
}
