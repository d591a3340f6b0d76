from django.http import HttpRequest


def shell(request: HttpRequest) -> dict:
    return {"elder_mode": getattr(request, "elder_mode", False)}
