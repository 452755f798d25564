//! The query machinery both models share: filter, order, limit.

use serde::{Deserialize, Serialize};

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderBy {
    /// By id, ascending (the default; deterministic for watchers).
    #[default]
    IdAsc,
    /// By id, descending.
    IdDesc,
    /// Oldest first.
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
    /// Least recently updated first.
    UpdatedAsc,
    /// Most recently updated first.
    UpdatedDesc,
}

/// What ordering needs from an item.
pub trait Ordered {
    /// The id.
    fn id(&self) -> u64;
    /// Creation time.
    fn created_ns(&self) -> u64;
    /// Last update time.
    fn updated_ns(&self) -> u64;
}

/// Selects matching items (given in id order), orders and limits them.
pub fn select<'a, T: Ordered + Clone + 'a>(
    items: impl Iterator<Item = &'a T>,
    matches: impl Fn(&T) -> bool,
    order: OrderBy,
    limit: Option<usize>,
) -> Vec<T> {
    let limit = limit.unwrap_or(usize::MAX);
    match order {
        // Items arrive in id order: stop as soon as the limit is reached.
        OrderBy::IdAsc => items.filter(|t| matches(t)).take(limit).cloned().collect(),
        _ => {
            let mut picked: Vec<&T> = items.filter(|t| matches(t)).collect();
            let key = |t: &&T| match order {
                OrderBy::IdAsc | OrderBy::IdDesc => t.id(),
                OrderBy::CreatedAsc | OrderBy::CreatedDesc => t.created_ns(),
                OrderBy::UpdatedAsc | OrderBy::UpdatedDesc => t.updated_ns(),
            };
            let descending = matches!(
                order,
                OrderBy::IdDesc | OrderBy::CreatedDesc | OrderBy::UpdatedDesc
            );
            picked.sort_by(|a, b| {
                let (ka, kb) = (key(a), key(b));
                let primary = if descending { kb.cmp(&ka) } else { ka.cmp(&kb) };
                primary.then(a.id().cmp(&b.id()))
            });
            picked.into_iter().take(limit).cloned().collect()
        }
    }
}
