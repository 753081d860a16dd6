import does_not_exist_xyz  # noqa: F401


def handler(event, context):
    return 1
