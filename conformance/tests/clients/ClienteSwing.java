// Cliente de chat em Swing, como um aluno escreve: nome por JOptionPane, pop-up sem
// servidor, thread de recebimento, @nome para si mesmo recusado, botão Sair.
import java.awt.BorderLayout;
import java.io.*;
import java.net.Socket;
import javax.swing.*;

public class ClienteSwing {
    static final String HOST = "127.0.0.1";
    static final int PORT = 5000;

    public static void main(String[] args) throws Exception {
        String nome = null;
        while (true) {
            nome = JOptionPane.showInputDialog(null, "Digite seu nome:", "Nome", JOptionPane.QUESTION_MESSAGE);
            if (nome == null) System.exit(0);
            if (nome.contains(" ") || nome.contains("@")) {
                JOptionPane.showMessageDialog(null, "Nome inválido: sem espaço nem @", "Erro", JOptionPane.ERROR_MESSAGE);
                continue;
            }
            break;
        }
        Socket s;
        try {
            s = new Socket(HOST, PORT);
        } catch (IOException e) {
            JOptionPane.showMessageDialog(null, "Servidor não está ativo", "Erro", JOptionPane.ERROR_MESSAGE);
            System.exit(1);
            return;
        }
        final String eu = nome;
        final Socket sock = s;
        final PrintStream out = new PrintStream(sock.getOutputStream(), true, "UTF-8");
        out.print(eu);
        out.flush();
        JFrame f = new JFrame("Chat - " + eu);
        JTextArea area = new JTextArea(18, 50);
        area.setEditable(false);
        area.setFocusable(false);
        JTextField campo = new JTextField(40);
        JButton enviar = new JButton("Enviar");
        JButton sair = new JButton("Sair");
        Runnable manda = () -> {
            String m = campo.getText().trim();
            if (m.isEmpty()) return;
            if (m.startsWith("@" + eu + " ") || m.equals("@" + eu)) {
                JOptionPane.showMessageDialog(f, "Você não pode mandar mensagem para si mesmo", "Erro", JOptionPane.ERROR_MESSAGE);
                campo.setText("");
                return;
            }
            out.print(m);
            out.flush();
            area.append("Você: " + m + "\n");
            campo.setText("");
        };
        campo.addActionListener(e -> manda.run());
        enviar.addActionListener(e -> manda.run());
        sair.addActionListener(e -> {
            try { sock.close(); } catch (IOException ignored) {}
            f.dispose();
            System.exit(0);
        });
        JPanel baixo = new JPanel();
        baixo.add(campo);
        baixo.add(enviar);
        baixo.add(sair);
        f.add(new JScrollPane(area), BorderLayout.CENTER);
        f.add(baixo, BorderLayout.SOUTH);
        f.pack();
        f.setVisible(true);
        campo.requestFocusInWindow();
        new Thread(() -> {
            try {
                InputStream in = sock.getInputStream();
                byte[] buf = new byte[1024];
                int n;
                while ((n = in.read(buf)) > 0) {
                    String t = new String(buf, 0, n, "UTF-8");
                    SwingUtilities.invokeLater(() -> area.append(t));
                }
            } catch (IOException ignored) {}
        }).start();
    }
}
