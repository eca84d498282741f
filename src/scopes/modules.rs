//! The API modules a token may reach (servicetitan-facts.md's table): each
//! module's code in scope names, the URL base of its endpoints, and the one
//! cheap read it is probed with.

/// One API module: its code in scope names, the URL base of its endpoints,
/// the cheap list it is probed with, and the scope that list needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Module {
    pub(crate) code: &'static str,
    pub(crate) name: &'static str,
    /// `/crm/v2`: every path is `{API base}{base}/tenant/{tenant}/{probe}`.
    pub(crate) base: &'static str,
    pub(crate) probe: &'static str,
    pub(crate) probe_scope: &'static str,
}

macro_rules! modules {
    ($(($name:literal, $code:literal, $base:literal, $probe:literal, $scope:literal)),* $(,)?) => {
        [$(Module { code: $code, name: $name, base: $base, probe: $probe, probe_scope: $scope }),*]
    };
}

/// The facts file's module table, in its order (the order probes are chosen in).
pub(crate) const MODULES: [Module; 22] = modules![
    (
        "Accounting",
        "acc",
        "/accounting/v2",
        "payment-types",
        "tn.acc.paymenttypes:r"
    ),
    ("CRM", "crm", "/crm/v2", "customers", "tn.crm.customers:r"),
    (
        "Jobs & projects",
        "jpm",
        "/jpm/v2",
        "job-types",
        "tn.jpm.jobtypes:r"
    ),
    (
        "Settings",
        "stt",
        "/settings/v2",
        "business-units",
        "tn.stt.businessunits:r"
    ),
    ("Dispatch", "dis", "/dispatch/v2", "zones", "tn.dis.zones:r"),
    (
        "Pricebook",
        "pb",
        "/pricebook/v2",
        "categories",
        "tn.pb.categories:r"
    ),
    (
        "Inventory",
        "inv",
        "/inventory/v2",
        "warehouses",
        "tn.inv.warehouses:r"
    ),
    (
        "Marketing",
        "mrk",
        "/marketing/v2",
        "campaigns",
        "tn.mrk.campaigns:r"
    ),
    (
        "Memberships",
        "mem",
        "/memberships/v2",
        "membership-types",
        "tn.mem.membershiptypes:r"
    ),
    (
        "Payroll",
        "prl",
        "/payroll/v2",
        "activity-codes",
        "tn.prl.activitycodes:r"
    ),
    (
        "Reporting",
        "rpr",
        "/reporting/v2",
        "report-categories",
        "tn.rpr.reportcategories:r"
    ),
    (
        "Sales",
        "sal",
        "/sales/v2",
        "estimates",
        "tn.sal.estimates:r"
    ),
    (
        "Service agreements",
        "sa",
        "/service-agreements/v2",
        "service-agreements",
        "tn.sa.serviceagreements:r"
    ),
    (
        "Timesheets",
        "tms",
        "/timesheets/v2",
        "activity-types",
        "tn.tms.activitytypes:r"
    ),
    ("Forms", "frm", "/forms/v2", "forms", "tn.frm.forms:r"),
    (
        "Equipment systems",
        "eqs",
        "/equipmentsystems/v2",
        "installed-equipment",
        "tn.eqs.installedequipment:r"
    ),
    (
        "Task management",
        "tsm",
        "/taskmanagement/v2",
        "tasks",
        "tn.tsm.tasks:r"
    ),
    ("Telecom", "tlc", "/telecom/v3", "calls", "tn.tlc.calls:r"),
    (
        "Job booking",
        "jbce",
        "/jbce/v2",
        "call-reasons",
        "tn.jbce.callreasons:r"
    ),
    (
        "Customer interactions",
        "csi",
        "/customer-interactions/v2",
        "technician-ratings",
        "tn.csi.technicianrating:r"
    ),
    (
        "Marketing reputation",
        "mrep",
        "/marketingreputation/v2",
        "reviews",
        "tn.mrep.reviews:r"
    ),
    (
        "Scheduling Pro",
        "sp",
        "/schedulingpro/v2",
        "schedulers",
        "tn.sp.schedulers:r"
    ),
];

/// The module probed when nothing says otherwise: business units, which
/// every public client uses to test a connection.
pub(crate) const DEFAULT_PROBE: &Module = &MODULES[3];

pub(crate) fn module_by_code(code: &str) -> Option<&'static Module> {
    MODULES.iter().find(|m| m.code.eq_ignore_ascii_case(code))
}
