"""Locale tables for ``date(x, format, locale)`` (the dayjs ``en`` and ``fr`` locales)."""

from __future__ import annotations

from typing import TypedDict


class Locale(TypedDict):
    months: list[str]
    months_short: list[str]
    weekdays: list[str]
    weekdays_short: list[str]
    weekdays_min: list[str]
    formats: dict[str, str]


ENGLISH_FORMATS = {
    "LTS": "h:mm:ss A",
    "LT": "h:mm A",
    "L": "MM/DD/YYYY",
    "LL": "MMMM D, YYYY",
    "LLL": "MMMM D, YYYY h:mm A",
    "LLLL": "dddd, MMMM D, YYYY h:mm A",
}

LOCALES: dict[str, Locale] = {
    "en": {
        "months": "January_February_March_April_May_June_July_August_September_October_November_December".split("_"),
        "months_short": "Jan_Feb_Mar_Apr_May_Jun_Jul_Aug_Sep_Oct_Nov_Dec".split("_"),
        "weekdays": "Sunday_Monday_Tuesday_Wednesday_Thursday_Friday_Saturday".split("_"),
        "weekdays_short": "Sun_Mon_Tue_Wed_Thu_Fri_Sat".split("_"),
        "weekdays_min": "Su_Mo_Tu_We_Th_Fr_Sa".split("_"),
        "formats": ENGLISH_FORMATS,
    },
    "fr": {
        "months": "janvier_février_mars_avril_mai_juin_juillet_août_septembre_octobre_novembre_décembre".split("_"),
        "months_short": "janv._févr._mars_avr._mai_juin_juil._août_sept._oct._nov._déc.".split("_"),
        "weekdays": "dimanche_lundi_mardi_mercredi_jeudi_vendredi_samedi".split("_"),
        "weekdays_short": "dim._lun._mar._mer._jeu._ven._sam.".split("_"),
        "weekdays_min": "di_lu_ma_me_je_ve_sa".split("_"),
        "formats": {
            "LT": "HH:mm",
            "LTS": "HH:mm:ss",
            "L": "DD/MM/YYYY",
            "LL": "D MMMM YYYY",
            "LLL": "D MMMM YYYY HH:mm",
            "LLLL": "dddd D MMMM YYYY HH:mm",
        },
    },
}


def get_locale(name: object) -> Locale:
    """``fr``, ``FR``, ``fr-FR`` and ``fr_CA`` give ``fr``; unknown locales fall back to ``en``."""
    if isinstance(name, str):
        key = name.lower().replace("_", "-")
        if key in LOCALES:
            return LOCALES[key]
        base = key.split("-", 1)[0]
        if base in LOCALES:
            return LOCALES[base]
    return LOCALES["en"]
