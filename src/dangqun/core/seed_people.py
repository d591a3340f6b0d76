"""Deterministic demo people: valid resident ID numbers, mobile numbers and Chinese names.

Nothing here touches the database. Every identifier is derived from a person's *counter*
`n` (0, 1, 2, ...) through a bijection, so one million people get one million distinct ID
numbers and phones without a single "is it taken?" lookup; names come from a seeded PRNG
over Faker's zh_CN name data (surnames weighted by frequency).

ID numbers follow GB 11643-1999: region (GB/T 2260, a short list of real districts), birth
date (adults born 1940–2006), a 3-digit sequence whose last digit is odd for men, and the
ISO 7064 MOD 11-2 check character.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta

from faker.providers.person.zh_CN import Provider as ZhPersonProvider

# GB/T 2260 codes of real districts: 杭州 西湖/上城/拱墅, 北京 朝阳, 上海 浦东, 深圳 南山,
# 南京 鼓楼, 成都 武侯.
REGION_CODES = ("330106", "330102", "330105", "110105", "310115", "440305", "320106", "510107")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

# Everyone is an adult: born 1940-01-01 .. 2006-12-31 (18 on 2024-12-31 at the latest).
BIRTH_FIRST = date(1940, 1, 1)
BIRTH_LAST = date(2006, 12, 31)
BIRTH_DAYS = (BIRTH_LAST - BIRTH_FIRST).days + 1
SEQUENCES = 999  # 001..999

ID_CAPACITY = len(REGION_CODES) * BIRTH_DAYS * SEQUENCES  # ≈ 196 million distinct IDs
# A prime larger than the capacity is coprime with it, so n ↦ (n·MULT + OFFSET) mod CAPACITY
# is a permutation: distinct counters give distinct IDs, spread over regions and ages.
_MULT = 2_654_435_761
_ID_OFFSET = 48_271_105

# Mainland mobile prefixes (Faker zh_CN's list, 13x–19x); 8 digits follow.
PHONE_PREFIXES = (
    "134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159",
    "182", "187", "188", "130", "131", "132", "155", "156", "185", "186", "133", "153",
    "180", "181", "189", "177", "199", "166", "173", "176", "198", "191",
)  # fmt: skip
_PHONE_BODIES = 100_000_000
_PHONE_OFFSET = 1_131_415_926
PHONE_CAPACITY = len(PHONE_PREFIXES) * _PHONE_BODIES  # 3.4 billion, coprime with _MULT too

MAX_PEOPLE = min(ID_CAPACITY, PHONE_CAPACITY)


def id_check_char(first17: str) -> str:
    """GB 11643-1999 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def _identity_parts(n: int) -> tuple[str, date, int]:
    if not 0 <= n < ID_CAPACITY:
        raise ValueError(f"person counter {n} outside 0..{ID_CAPACITY - 1}")
    j = (n * _MULT + _ID_OFFSET) % ID_CAPACITY
    j, seq = divmod(j, SEQUENCES)
    region, day = divmod(j, BIRTH_DAYS)
    return REGION_CODES[region], BIRTH_FIRST + timedelta(days=day), seq + 1


def id_number_for(n: int) -> tuple[str, date, str]:
    """(ID number, birth date, gender "M"/"F") of person `n`: distinct for distinct `n`."""
    region, born, seq = _identity_parts(n)
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17), born, "M" if seq % 2 else "F"


def phone_for(n: int) -> str:
    """An 11-digit mobile number of person `n`: distinct for distinct `n`."""
    if not 0 <= n < PHONE_CAPACITY:
        raise ValueError(f"person counter {n} outside 0..{PHONE_CAPACITY - 1}")
    prefix, body = divmod((n * _MULT + _PHONE_OFFSET) % PHONE_CAPACITY, _PHONE_BODIES)
    return f"{PHONE_PREFIXES[prefix]}{body:08d}"


class NameMaker:
    """Chinese names from Faker's zh_CN data with a seeded PRNG (surnames by frequency).

    Faker's own `name()` works too, but drawing from its lists directly is ~20x faster,
    which matters at a million residents.
    """

    def __init__(self, rng: random.Random):
        self._rng = rng
        surnames = ZhPersonProvider.last_names
        self._surnames = list(surnames)
        self._cum = list(itertools.accumulate(surnames.values()))
        # Faker's male list carries "红霞", a typically female name: left out.
        male = [n for n in ZhPersonProvider.first_names_male if n != "红霞"]
        self._given = {"M": male, "F": list(ZhPersonProvider.first_names_female)}

    def __call__(self, gender: str) -> str:
        rng = self._rng
        surname = rng.choices(self._surnames, cum_weights=self._cum)[0]
        given = self._given[gender]
        name = rng.choice(given)
        if len(name) == 1 and rng.random() < 0.55:  # most Chinese given names have two characters
            name = rng.choice(given)[0] + name
        return surname + name


@dataclass(frozen=True, slots=True)
class Person:
    n: int
    full_name: str
    id_number: str
    birth_date: date
    gender: str
    phone: str


def make_person(n: int, names: NameMaker) -> Person:
    id_number, born, gender = id_number_for(n)
    return Person(n, names(gender), id_number, born, gender, phone_for(n))
