"""The one place where kg-force and lb meet SI. Everything inside the product is newtons."""

STANDARD_GRAVITY_MPS2 = 9.80665
POUND_KG = 0.45359237


def kg_to_newtons(kg: float) -> float:
    return kg * STANDARD_GRAVITY_MPS2


def newtons_to_kg(newtons: float) -> float:
    return newtons / STANDARD_GRAVITY_MPS2


def newtons_to_lb(newtons: float) -> float:
    return newtons / (POUND_KG * STANDARD_GRAVITY_MPS2)


def round_half_kg(kg: float) -> float:
    """To the 0.5 kg step loads go in."""
    return round(kg * 2.0) / 2.0
