//! The access admin pages: users (create, change role, team, locale, password,
//! deactivate), roles with their permissions and field security (built-in
//! roles shown, custom roles edited), and teams. Each page checks the same
//! permissions as the API (`user`, `role`, `team`) and writes through the same
//! store functions, so the pages and `/api/v1/{users,roles,teams}` agree.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Capability, Grants, RecordType, SENSITIVE_FIELDS, Scope};
use nave_domain::email::Email;
use nave_domain::ids::PublicId;
use nave_store::auth::{check_password, hash_password};
use nave_store::roles::{self, NewRole, Role, RolePatch};
use nave_store::teams::{self, Team};
use nave_store::users::{self, NewUser, User, UserPatch};

use super::{Choices, FormData, FormErrors, Layout, PageAuth, PageError, PageResult, form_again, render, require};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

/// The admin pages' place in the navigation.
const ACTIVE: &str = "admin";

/// The user may see every `rt` record (the admin pages list the whole tenant).
fn require_all(auth: &PageAuth, rt: RecordType, what: &str) -> Result<(), PageError> {
    if auth.principal.scope_for(rt, Action::Read) != Some(Scope::All) {
        return Err(ApiError::forbidden(format!("your role may not {what}")).into());
    }
    Ok(())
}

fn parse_id(id: &str, record: &'static str) -> Result<PublicId, ApiError> {
    id.parse().map_err(|_| ApiError::not_found(record))
}

/// The version a form was shown at; 0 (none) lets the store refuse a stale save.
fn version_of(form: &FormData) -> Option<i64> {
    form.get("version").trim().parse().ok()
}

// ------------------------------------------------------------------ users

#[derive(Debug)]
struct UserRow {
    id: String,
    name: String,
    email: String,
    role: String,
    team: String,
    locale: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    can_create: bool,
}

fn team_name(teams: &[Team], id: Option<PublicId>) -> String {
    id.and_then(|id| teams.iter().find(|t| t.id == id)).map(|t| t.name.clone()).unwrap_or_default()
}

/// `GET /admin/users`.
pub async fn users_page(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    require_all(&auth, RecordType::User, "list users")?;
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let list = users::list(&mut tx, p.tenant_id).await?;
    let teams = teams::list(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let users = list
        .into_iter()
        .map(|u| UserRow {
            id: u.id.to_string(),
            team: team_name(&teams, u.team_id),
            name: u.name,
            email: u.email,
            role: u.role,
            locale: u.locale,
            active: u.active,
        })
        .collect();
    let can_create = p.scope_for(RecordType::User, Action::Create).is_some();
    Ok(render(&UsersPage { layout: auth.layout(ACTIVE), users, can_create }).into_response())
}

/// The user form as typed.
#[derive(Debug, Default)]
struct UserForm {
    email: String,
    name: String,
    role: String,
    team_id: String,
    locale: String,
    active: bool,
    password: String,
    version: i64,
}

impl UserForm {
    fn parse(body: &[u8]) -> Self {
        let f = FormData::parse(body);
        UserForm {
            email: f.get("email"),
            name: f.get("name"),
            role: f.get("role"),
            team_id: f.get("team_id"),
            locale: f.get("locale"),
            active: f.checked("active"),
            password: f.get("password"),
            version: version_of(&f).unwrap_or(0),
        }
    }

    fn of(u: &User) -> Self {
        UserForm {
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            team_id: u.team_id.map(|t| t.to_string()).unwrap_or_default(),
            locale: u.locale.clone(),
            active: u.active,
            password: String::new(),
            version: u.version,
        }
    }

    /// The checked fields: e-mail, team and the password's hash (when one is typed).
    fn checked(&self, errors: &mut FormErrors) -> (Option<Email>, Option<PublicId>, Option<String>) {
        let email = match Email::parse(self.email.trim()) {
            Ok(e) => Some(e),
            Err(_) => {
                errors.add("email", "must be an e-mail address like name@example.com");
                None
            }
        };
        let team = match self.team_id.trim() {
            "" => None,
            t => t.parse().map_err(|_| errors.add("team_id", "is not one of the choices")).ok(),
        };
        let hash = match self.password.as_str() {
            "" => None,
            pw => match check_password(pw) {
                Ok(()) => Some(hash_password(pw)),
                Err(m) => {
                    errors.add("password", m);
                    None
                }
            },
        };
        (email, team, hash)
    }
}

#[derive(Template)]
#[template(path = "user_form.html")]
struct UserFormPage {
    layout: Layout,
    /// The user edited; `None` for a new one.
    id: Option<String>,
    form: UserForm,
    roles: Choices,
    teams: Choices,
    locales: Choices,
    errors: FormErrors,
}

async fn user_form_page(
    app: &AppState,
    auth: &PageAuth,
    id: Option<String>,
    form: UserForm,
    errors: FormErrors,
) -> PageResult {
    let mut tx = app.db.read().await?;
    let roles = roles::list(&mut tx, auth.principal.tenant_id).await?;
    let teams = teams::list(&mut tx, auth.principal.tenant_id).await?;
    tx.commit().await?;
    let page = UserFormPage {
        layout: auth.layout(ACTIVE),
        id,
        locales: super::me::locale_choices(&form.locale),
        form,
        roles: roles.into_iter().map(|r| (r.name.clone(), r.name)).collect(),
        teams: teams.into_iter().map(|t| (t.id.to_string(), t.name)).collect(),
        errors,
    };
    if page.errors.is_empty() { Ok(render(&page).into_response()) } else { form_again(page.errors.status(), &page) }
}

/// `GET /admin/users/new`.
pub async fn new_user(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    require(&auth.principal, RecordType::User, Action::Create, "create users")?;
    let form = UserForm { locale: "en-US".into(), active: true, ..Default::default() };
    user_form_page(&app, &auth, None, form, FormErrors::default()).await
}

/// `POST /admin/users`.
pub async fn create_user(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, RecordType::User, Action::Create, "create users")?;
    let form = UserForm::parse(&body);
    let mut errors = FormErrors::default();
    let (email, team, hash) = form.checked(&mut errors);
    if form.password.is_empty() {
        errors.add("password", "is required: the new user logs in with it (they can change it later)");
    }
    if let (Some(email), true) = (email, errors.is_empty()) {
        let new = NewUser {
            email,
            name: form.name.clone(),
            password_hash: hash,
            role: form.role.trim().to_string(),
            team_id: team,
            locale: Some(form.locale.trim().to_string()).filter(|l| !l.is_empty()),
        };
        let mut tx = app.db.write().await?;
        match users::create(&mut tx, &actor_of(p), new).await {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::to("/admin/users").into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    user_form_page(&app, &auth, None, UserForm { password: String::new(), ..form }, errors).await
}

/// `GET /admin/users/{id}`.
pub async fn edit_user(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require_all(&auth, RecordType::User, "change users")?;
    require(p, RecordType::User, Action::Update, "change users")?;
    let mut tx = app.db.read().await?;
    let u =
        users::get(&mut tx, p.tenant_id, parse_id(&id, "user")?).await?.ok_or_else(|| ApiError::not_found("user"))?;
    tx.commit().await?;
    user_form_page(&app, &auth, Some(u.id.to_string()), UserForm::of(&u), FormErrors::default()).await
}

/// `POST /admin/users/{id}`: saves the user if still at the version shown.
pub async fn update_user(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require_all(&auth, RecordType::User, "change users")?;
    require(p, RecordType::User, Action::Update, "change users")?;
    let id = parse_id(&id, "user")?;
    let form = UserForm::parse(&body);
    let mut errors = FormErrors::default();
    let (email, team, hash) = form.checked(&mut errors);
    let mut tx = app.db.write().await?;
    let before = users::get(&mut tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    if before.key == p.user_id && !form.active {
        errors.add("active", "you cannot deactivate yourself: another admin must");
    }
    if errors.is_empty() {
        let patch = UserPatch {
            email,
            name: Some(form.name.clone()),
            role: Some(form.role.trim().to_string()),
            team_id: Some(team),
            active: Some(form.active),
            locale: Some(form.locale.trim().to_string()),
            password_hash: hash,
        };
        match users::update(&mut tx, &actor_of(p), id, Some(form.version), patch).await {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::to("/admin/users").into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    tx.rollback().await?;
    user_form_page(&app, &auth, Some(id.to_string()), UserForm { password: String::new(), ..form }, errors).await
}

// ------------------------------------------------------------------ roles

#[derive(Debug)]
struct RoleRow {
    id: String,
    name: String,
    description: String,
    builtin: bool,
    users: usize,
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    layout: Layout,
    roles: Vec<RoleRow>,
    can_create: bool,
}

/// `GET /admin/roles`.
pub async fn roles_page(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    require_all(&auth, RecordType::Role, "list roles")?;
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let list = roles::list(&mut tx, p.tenant_id).await?;
    let people = users::list(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let roles = list
        .into_iter()
        .map(|r| RoleRow {
            id: r.id.to_string(),
            users: people.iter().filter(|u| u.role == r.name).count(),
            name: r.name,
            description: r.description,
            builtin: r.builtin,
        })
        .collect();
    let can_create = p.scope_for(RecordType::Role, Action::Create).is_some();
    Ok(render(&RolesPage { layout: auth.layout(ACTIVE), roles, can_create }).into_response())
}

/// One row of the permission grid: a record type and its scope per action.
#[derive(Debug)]
struct GridRow {
    record_type: &'static str,
    label: String,
    /// Read, create, update and delete.
    cells: Vec<GridCell>,
}

#[derive(Debug)]
struct GridCell {
    action: &'static str,
    /// The scope chosen (`own`, `team`, `all`), or empty for none.
    scope: String,
    error: Option<String>,
}

/// A capability with the fields it reveals.
#[derive(Debug)]
struct CapabilityRow {
    name: &'static str,
    label: &'static str,
    reveals: String,
    on: bool,
}

#[derive(Template)]
#[template(path = "role_form.html")]
struct RoleFormPage {
    layout: Layout,
    /// The role shown; `None` for a new one.
    id: Option<String>,
    role_name: String,
    description: String,
    builtin: bool,
    /// The form may be saved (a custom role and the right to change roles).
    editable: bool,
    may_delete: bool,
    version: i64,
    grid: Vec<GridRow>,
    capabilities: Vec<CapabilityRow>,
    errors: FormErrors,
}

fn capability_label(c: Capability) -> &'static str {
    match c {
        Capability::ViewCost => "See costs",
        Capability::ViewMargin => "See margins and profit",
        Capability::ViewCreditLimit => "See credit limits",
        Capability::OverrideCreditLimit => "Override the credit limit (audited)",
    }
}

/// The fields a capability reveals, e.g. `product.cost, invoice.cost`.
fn reveals(c: Capability) -> String {
    let fields: Vec<String> = SENSITIVE_FIELDS
        .iter()
        .filter(|f| f.capability == c)
        .map(|f| format!("{}.{}", f.record_type, f.path))
        .collect();
    if fields.is_empty() { "no field: a right to act".into() } else { fields.join(", ") }
}

impl RoleFormPage {
    fn new(auth: &PageAuth, role: Option<&Role>, grants: &Grants) -> Self {
        let p = &auth.principal;
        let builtin = role.is_some_and(|r| r.builtin);
        let action = if role.is_some() { Action::Update } else { Action::Create };
        RoleFormPage {
            layout: auth.layout(ACTIVE),
            id: role.map(|r| r.id.to_string()),
            role_name: role.map(|r| r.name.clone()).unwrap_or_default(),
            description: role.map(|r| r.description.clone()).unwrap_or_default(),
            builtin,
            editable: !builtin && p.scope_for(RecordType::Role, action).is_some(),
            may_delete: role.is_some() && !builtin && p.scope_for(RecordType::Role, Action::Delete).is_some(),
            version: role.map(|r| r.version).unwrap_or(0),
            grid: grid_of(grants),
            capabilities: Capability::ALL
                .iter()
                .map(|&c| CapabilityRow {
                    name: c.as_str(),
                    label: capability_label(c),
                    reveals: reveals(c),
                    on: grants.has(c),
                })
                .collect(),
            errors: FormErrors::default(),
        }
    }
}

/// The permission grid with the scope of each cell from `scope_of`.
fn grid(scope_of: impl Fn(RecordType, Action) -> String) -> Vec<GridRow> {
    RecordType::ALL
        .iter()
        .map(|&rt| GridRow {
            record_type: rt.as_str(),
            label: rt.as_str().replace('_', " "),
            cells: Action::ALL
                .iter()
                .map(|&a| GridCell { action: a.as_str(), scope: scope_of(rt, a), error: None })
                .collect(),
        })
        .collect()
}

fn grid_of(g: &Grants) -> Vec<GridRow> {
    grid(|rt, a| g.scope(rt, a).map(|s| s.to_string()).unwrap_or_default())
}

impl RoleFormPage {
    /// The form again as typed in `f`, with `errors` next to their cells.
    fn again(mut self, f: &FormData, errors: FormErrors) -> PageResult {
        self.grid = grid(|rt, a| f.get(&format!("perm.{rt}.{a}")).trim().to_string());
        for row in &mut self.grid {
            for cell in &mut row.cells {
                cell.error = errors.get(&format!("perm.{}.{}", row.record_type, cell.action)).map(str::to_string);
            }
        }
        let typed = f.all("capability");
        for c in &mut self.capabilities {
            c.on = typed.iter().any(|t| t == c.name);
        }
        self.description = f.get("description");
        self.errors = errors;
        form_again(self.errors.status(), &self)
    }
}

/// The permissions and capabilities of a posted role form (`perm.{type}.{action}` = scope,
/// `capability` repeated).
fn grants_of_form(f: &FormData, errors: &mut FormErrors) -> Grants {
    let mut g = Grants::new();
    for &rt in RecordType::ALL {
        for &a in Action::ALL {
            let field = format!("perm.{rt}.{a}");
            match f.get(&field).trim() {
                "" => {}
                s => match s.parse::<Scope>() {
                    Ok(scope) => {
                        g.allow(rt, a, scope);
                    }
                    Err(_) => errors.add(field, "must be own, team or all"),
                },
            }
        }
    }
    for c in f.all("capability") {
        match c.parse::<Capability>() {
            Ok(c) => {
                g.give(c);
            }
            Err(_) => errors.add("capability", format!("{c} is not a capability")),
        }
    }
    g
}

async fn load_role(app: &AppState, auth: &PageAuth, id: &str) -> Result<Role, PageError> {
    let mut tx = app.db.read().await?;
    let r = roles::get(&mut tx, auth.principal.tenant_id, parse_id(id, "role")?)
        .await?
        .ok_or_else(|| ApiError::not_found("role"))?;
    tx.commit().await?;
    Ok(r)
}

/// `GET /admin/roles/new`.
pub async fn new_role(auth: PageAuth) -> PageResult {
    require(&auth.principal, RecordType::Role, Action::Create, "create roles")?;
    Ok(render(&RoleFormPage::new(&auth, None, &Grants::new())).into_response())
}

/// `POST /admin/roles`.
pub async fn create_role(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, RecordType::Role, Action::Create, "create roles")?;
    let f = FormData::parse(&body);
    let mut errors = FormErrors::default();
    let grants = grants_of_form(&f, &mut errors);
    if errors.is_empty() {
        let new = NewRole { name: f.get("name").trim().to_string(), description: f.get("description"), grants };
        let mut tx = app.db.write().await?;
        match roles::create(&mut tx, &actor_of(p), new).await {
            Ok(r) => {
                tx.commit().await?;
                return Ok(Redirect::to(&format!("/admin/roles/{}", r.id)).into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    let mut page = RoleFormPage::new(&auth, None, &Grants::new());
    page.role_name = f.get("name");
    page.again(&f, errors)
}

/// `GET /admin/roles/{id}`: a built-in role read-only, a custom one as a form.
pub async fn show_role(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require_all(&auth, RecordType::Role, "see roles")?;
    let role = load_role(&app, &auth, &id).await?;
    Ok(render(&RoleFormPage::new(&auth, Some(&role), &role.grants())).into_response())
}

/// `POST /admin/roles/{id}`: saves a custom role's description, permissions
/// and capabilities (the name stays: users refer to it).
pub async fn update_role(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require(p, RecordType::Role, Action::Update, "change roles")?;
    let role = load_role(&app, &auth, &id).await?;
    let f = FormData::parse(&body);
    let mut errors = FormErrors::default();
    let grants = grants_of_form(&f, &mut errors);
    if errors.is_empty() {
        let patch = RolePatch { description: Some(f.get("description")), grants: Some(grants.clone()) };
        let mut tx = app.db.write().await?;
        match roles::update(&mut tx, &actor_of(p), role.id, Some(version_of(&f).unwrap_or(0)), patch).await {
            Ok(r) => {
                tx.commit().await?;
                return Ok(Redirect::to(&format!("/admin/roles/{}", r.id)).into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    RoleFormPage::new(&auth, Some(&role), &grants).again(&f, errors)
}

/// `POST /admin/roles/{id}/delete`: deletes a custom role no user holds.
pub async fn delete_role(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require(p, RecordType::Role, Action::Delete, "delete roles")?;
    let role = load_role(&app, &auth, &id).await?;
    let f = FormData::parse(&body);
    let mut tx = app.db.write().await?;
    match roles::delete(&mut tx, &actor_of(p), role.id, version_of(&f)).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to("/admin/roles").into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let mut page = RoleFormPage::new(&auth, Some(&role), &role.grants());
            page.errors.absorb(e)?;
            form_again(page.errors.status(), &page)
        }
    }
}

// ------------------------------------------------------------------ teams

#[derive(Debug)]
struct TeamRow {
    id: String,
    name: String,
    version: i64,
    members: Vec<String>,
}

#[derive(Template)]
#[template(path = "teams.html")]
struct TeamsPage {
    layout: Layout,
    teams: Vec<TeamRow>,
    may_create: bool,
    may_update: bool,
    may_delete: bool,
    /// The new team's name as typed (kept when refused).
    new_name: String,
    errors: FormErrors,
}

async fn teams_view(app: &AppState, auth: &PageAuth, name: String, errors: FormErrors) -> PageResult {
    require_all(auth, RecordType::Team, "list teams")?;
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let list = teams::list(&mut tx, p.tenant_id).await?;
    let people = users::list(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let teams = list
        .into_iter()
        .map(|t| TeamRow {
            id: t.id.to_string(),
            members: people.iter().filter(|u| u.team_id == Some(t.id)).map(|u| u.name.clone()).collect(),
            name: t.name,
            version: t.version,
        })
        .collect();
    let may = |a| p.scope_for(RecordType::Team, a).is_some();
    let page = TeamsPage {
        layout: auth.layout(ACTIVE),
        teams,
        may_create: may(Action::Create),
        may_update: may(Action::Update),
        may_delete: may(Action::Delete),
        new_name: name,
        errors,
    };
    if page.errors.is_empty() { Ok(render(&page).into_response()) } else { form_again(page.errors.status(), &page) }
}

/// `GET /admin/teams`.
pub async fn teams_page(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    teams_view(&app, &auth, String::new(), FormErrors::default()).await
}

/// `POST /admin/teams`.
pub async fn create_team(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, RecordType::Team, Action::Create, "create teams")?;
    let name = FormData::parse(&body).get("name");
    let mut tx = app.db.write().await?;
    match teams::create(&mut tx, &actor_of(p), &name).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to("/admin/teams").into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.absorb(e)?;
            teams_view(&app, &auth, name, errors).await
        }
    }
}

/// `POST /admin/teams/{id}`: renames a team.
pub async fn rename_team(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require(p, RecordType::Team, Action::Update, "rename teams")?;
    let f = FormData::parse(&body);
    let mut tx = app.db.write().await?;
    match teams::rename(&mut tx, &actor_of(p), parse_id(&id, "team")?, version_of(&f), &f.get("name")).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to("/admin/teams").into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.absorb(e)?;
            teams_view(&app, &auth, String::new(), errors).await
        }
    }
}

/// `POST /admin/teams/{id}/delete`: deletes a team no user or account belongs to.
pub async fn delete_team(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require(p, RecordType::Team, Action::Delete, "delete teams")?;
    let f = FormData::parse(&body);
    let mut tx = app.db.write().await?;
    match teams::delete(&mut tx, &actor_of(p), parse_id(&id, "team")?, version_of(&f)).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to("/admin/teams").into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.absorb(e)?;
            teams_view(&app, &auth, String::new(), errors).await
        }
    }
}
