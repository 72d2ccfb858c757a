interface Props {
  id?: string;
  message: string | null | undefined;
  testId?: string;
}

/** An error shown next to the control that caused it (link it with aria-describedby={id}). */
export function ErrorMessage({ id, message, testId }: Props) {
  return (
    <p id={id} className="error-message" role="alert" data-testid={testId} hidden={!message}>
      {message ? (
        <>
          <span aria-hidden="true" className="error-icon">
            !
          </span>
          {message}
        </>
      ) : null}
    </p>
  );
}
