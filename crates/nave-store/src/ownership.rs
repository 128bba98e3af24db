//! Who a record belongs to (its owner and team), for every record type with a
//! record scope: accounts, opportunities, cases.

use nave_domain::access::Ownership;
use nave_domain::ids::PublicId;

use crate::audit::Actor;
use crate::db::Tx;
use crate::{StoreResult, teams, users};

async fn team_of(tx: &mut Tx, tenant_id: i64, user: Option<i64>) -> StoreResult<Option<i64>> {
    match user {
        Some(u) => Ok(users::get_by_key(tx, tenant_id, u).await?.and_then(|u| u.team_key)),
        None => Ok(None),
    }
}

/// The ownership of a new record: the owner given (`None`: the acting user;
/// `Some(None)`: nobody) and the team given (else the owner's team).
/// `owner_field` names the owner in errors (`owner_id`, `assignee_id`).
pub(crate) async fn for_new(
    tx: &mut Tx,
    actor: &Actor,
    owner: Option<Option<PublicId>>,
    team: Option<PublicId>,
    owner_field: &str,
) -> StoreResult<Ownership> {
    let t = actor.tenant_id;
    let owner_id = match owner {
        Some(Some(o)) => Some(users::resolve(tx, t, o, owner_field).await?),
        Some(None) => None,
        None => actor.user_id,
    };
    let team_id = match team {
        Some(tm) => Some(teams::resolve(tx, t, tm, "team_id").await?),
        None => team_of(tx, t, owner_id).await?,
    };
    Ok(Ownership { owner_id, team_id })
}

/// The ownership after a change: `None` keeps, `Some(None)` clears, `Some(id)`
/// sets. With `team_follows_owner`, a new owner brings their team unless the
/// change names one.
pub(crate) async fn changed(
    tx: &mut Tx,
    tenant_id: i64,
    before: Ownership,
    owner: Option<Option<PublicId>>,
    team: Option<Option<PublicId>>,
    owner_field: &str,
    team_follows_owner: bool,
) -> StoreResult<Ownership> {
    let owner_id = match owner {
        Some(Some(o)) => Some(users::resolve(tx, tenant_id, o, owner_field).await?),
        Some(None) => None,
        None => before.owner_id,
    };
    let team_id = match team {
        Some(Some(tm)) => Some(teams::resolve(tx, tenant_id, tm, "team_id").await?),
        Some(None) => None,
        None if team_follows_owner && owner_id != before.owner_id => team_of(tx, tenant_id, owner_id).await?,
        None => before.team_id,
    };
    Ok(Ownership { owner_id, team_id })
}
