"""Card numbers with a Luhn check digit: a mistyped digit or two swapped neighbours are
caught before any lookup. Pure: no Django."""


def check_digit(payload: str) -> str:
    """The digit that makes `payload` + digit pass the Luhn check."""
    if not payload.isdigit():
        raise ValueError("A card number has digits only.")
    total = 0
    # From the right, the payload's first digit is doubled (it sits left of the check digit).
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_valid(number: str) -> bool:
    number = number.replace(" ", "")
    return len(number) >= 2 and number.isdigit() and check_digit(number[:-1]) == number[-1]


def card_number(prefix: str, sequence: int, *, width: int = 10) -> str:
    """`prefix` + zero-padded `sequence` + check digit, e.g. ("7", 42) -> "700000000427"."""
    payload = f"{prefix}{sequence:0{width}d}"
    return payload + check_digit(payload)
