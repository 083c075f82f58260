"""One deterministic synthetic demo dataset of N families across the three services.

`demo_families(n, seed)` (`families`) draws the families: each family's people (Faker `en_GB` names; NHS numbers
from the synthetic 999 range with a valid check digit; UPNs valid but fictional, `identifiers`), its referral
(`referrals`) and, from "case open" on, its case in the cases service (`cases`). Family `i` depends only on the seed
and `i` (its own random generator), so a larger N adds families without changing the first ones. Stages rotate
with the index, so every stage appears in every hub from 30 families up:

| stage | referrals | cases | outcomes |
|---|---|---|---|
| received | received (within or past its deadline) | - | - |
| screening | screening | - | - |
| triaged | signposted, no further action, stepped up or withdrawn | - | - |
| matched | screening; its people matched to the person index | a family from an earlier closed case | - |
| open | accepted, linked to the case | open case, no lead worker yet | - |
| assessment | accepted | assessment in progress, lead worker | - |
| plan | accepted | assessed, active plan | enrolled, observations |
| review | accepted | plan reviewed | enrolled, observations |
| closed | accepted | closed | enrolled and closed, observations (some claimable, some not) |
| sustained | accepted | closed long ago | enrolled and closed, sustained progress |

A referral names the same people (names, dates of birth, NHS numbers, UPNs) as the family in cases. `seed_all`
(`seeding`) loads each service's part in bulk (`referrals.seed.load_demo_referrals`,
`cases.seed.load_demo_families`); outcomes learns about the families the way it learns about real ones — from
`case.assessment_completed` and `case.closed` payloads built from the cases data and given to the outcomes
service's own handlers — then gets three years of observations (`outcomes.seed.seed_demo`). Every row has a fixed
id or natural key, so running twice changes nothing.
"""

from earlyhelp.demo.cases import case_events, demo_framework
from earlyhelp.demo.families import HUBS, STAGES, demo_families, practitioner_numbers
from earlyhelp.demo.identifiers import MAX_FAMILIES, demo_uuid, nhs_number, upn
from earlyhelp.demo.loading import PHASES, Progress
from earlyhelp.demo.referrals import OtherDemoPresent
from earlyhelp.demo.seeding import seed_all

__all__ = [
    "HUBS",
    "MAX_FAMILIES",
    "PHASES",
    "STAGES",
    "OtherDemoPresent",
    "Progress",
    "case_events",
    "demo_families",
    "demo_framework",
    "demo_uuid",
    "nhs_number",
    "practitioner_numbers",
    "seed_all",
    "upn",
]
